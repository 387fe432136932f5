// One table from (method, level, sub-resource) to handler: the S3 REST API distinguishes
// operations by query sub-resources and headers on the same path, so fastify's router cannot.
import { S3Error } from '../s3-errors.js';
import { header, type S3Call } from './context.js';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets, listMultipartUploads, listObjects } from './bucket-routes.js';
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from './object-routes.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listParts, uploadPart, uploadPartCopy } from './multipart-routes.js';
import { getBucketNotification, putBucketNotification } from './notification-routes.js';

type Handler = (call: S3Call) => Promise<void>;

// Sub-resources we accept but do not implement answer NotImplemented rather than being
// mistaken for a plain GET/PUT of the bucket.
const unsupportedSubresources = ['acl', 'policy', 'cors', 'lifecycle', 'tagging', 'website', 'replication', 'encryption',
  'object-lock', 'logging', 'accelerate', 'requestPayment', 'analytics', 'metrics', 'inventory', 'intelligent-tiering',
  'ownershipControls', 'publicAccessBlock', 'retention', 'legal-hold', 'torrent', 'restore', 'select', 'attributes', 'versions'];

export function chooseHandler(call: S3Call): Handler {
  const { bucket, key, query } = call.address;
  const method = call.request.method;
  if (bucket === undefined) {
    if (method === 'GET') return listBuckets;
    throw new S3Error('MethodNotAllowed');
  }
  const unsupported = unsupportedSubresources.find((name) => query.has(name));
  if (unsupported) throw new S3Error('NotImplemented', `The ${unsupported} sub-resource is not implemented by Cairn.`);
  return key === undefined ? bucketHandler(method, query) : objectHandler(call, method, query);
}

function bucketHandler(method: string, query: Map<string, string>): Handler {
  switch (method) {
    case 'PUT':
      if (query.has('notification')) return putBucketNotification;
      if (query.has('versioning')) return async () => { throw new S3Error('NotImplemented', 'Versioning is not implemented by Cairn.'); };
      return createBucket;
    case 'GET':
      if (query.has('location')) return getBucketLocation;
      if (query.has('uploads')) return listMultipartUploads;
      if (query.has('notification')) return getBucketNotification;
      if (query.has('versioning')) return async (call) => { call.reply.code(200).header('content-type', 'application/xml').send('<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'); };
      return query.get('list-type') === '2' ? (call) => listObjects(call, 2) : (call) => listObjects(call, 1);
    case 'HEAD': return headBucket;
    case 'DELETE': return deleteBucket;
    case 'POST':
      if (query.has('delete')) return deleteObjects;
      break;
  }
  throw new S3Error('MethodNotAllowed');
}

function objectHandler(call: S3Call, method: string, query: Map<string, string>): Handler {
  const hasUpload = query.has('uploadId');
  switch (method) {
    case 'PUT':
      if (hasUpload || query.has('partNumber')) return header(call.request, 'x-amz-copy-source') !== undefined ? uploadPartCopy : uploadPart;
      return header(call.request, 'x-amz-copy-source') !== undefined ? copyObject : putObject;
    case 'GET': return hasUpload ? listParts : (c) => getObject(c, true);
    case 'HEAD': return (c) => getObject(c, false);
    case 'DELETE': return hasUpload ? abortMultipartUpload : deleteObject;
    case 'POST':
      if (query.has('uploads')) return createMultipartUpload;
      if (hasUpload) return completeMultipartUpload;
      break;
  }
  throw new S3Error('MethodNotAllowed');
}
