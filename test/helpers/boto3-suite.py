# Drives boto3 against a Cairn endpoint (CAIRN_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# from the environment; WORK_DIR for temp files) and prints one JSON object of observations for
# test/s3-boto3.test.ts to check. Every network name it uses is loopback.
import hashlib
import json
import os
import socket
import sys
import urllib.error
import urllib.request

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as error:  # the test skips with this message
    print(json.dumps({"skip": f"boto3 cannot be imported: {error}"}))
    sys.exit(0)

endpoint = os.environ["CAIRN_ENDPOINT"]
work = os.environ["WORK_DIR"]
port = endpoint.rsplit(":", 1)[1]
out = {"boto3": boto3.__version__}


def seeded(seed, length):
    # Not the same generator as the TS helper; only needs to be incompressible and repeatable.
    return hashlib.shake_256(seed.to_bytes(8, "little")).digest(length)


def client(**config):
    return boto3.client("s3", endpoint_url=config.pop("endpoint", endpoint), region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}, **config))


s3 = client(s3={"addressing_style": "path"})
s3.create_bucket(Bucket="boto")

body = seeded(1, 50_000)
put = s3.put_object(Bucket="boto", Key="dir/small.bin", Body=body, Metadata={"colour": "red"}, ContentType="application/x-boto")
got = s3.get_object(Bucket="boto", Key="dir/small.bin")
out["put"] = {"etag": put["ETag"], "md5": '"' + hashlib.md5(body).hexdigest() + '"',
              "sameBytes": got["Body"].read() == body, "metadata": got["Metadata"], "contentType": got["ContentType"]}
ranged = s3.get_object(Bucket="boto", Key="dir/small.bin", Range="bytes=10-19")
out["range"] = {"sameBytes": ranged["Body"].read() == body[10:20], "contentRange": ranged["ContentRange"]}

# upload_file with a 5 MiB threshold and part size: a 12 MiB file is a 3-part upload.
big = seeded(2, 12 * 1024 * 1024 + 7)
big_path = os.path.join(work, "big.bin")
with open(big_path, "wb") as handle:
    handle.write(big)
transfer = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=2)
s3.upload_file(big_path, "boto", "big.bin", Config=transfer)
head = s3.head_object(Bucket="boto", Key="big.bin")
back_path = os.path.join(work, "big.back")
s3.download_file("boto", "big.bin", back_path, Config=transfer)
with open(back_path, "rb") as handle:
    back = handle.read()
out["multipart"] = {"etag": head["ETag"], "size": head["ContentLength"],
                    "sha256": hashlib.sha256(big).hexdigest(), "backSha256": hashlib.sha256(back).hexdigest()}

listed = s3.list_objects_v2(Bucket="boto", Delimiter="/")
out["list"] = {"keys": [item["Key"] for item in listed.get("Contents", [])],
               "prefixes": [item["Prefix"] for item in listed.get("CommonPrefixes", [])], "keyCount": listed["KeyCount"]}
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="boto", PaginationConfig={"PageSize": 1})
out["paged"] = [item["Key"] for page in pages for item in page.get("Contents", [])]

# Presigned URLs, fetched with a plain HTTP client (no SDK on the wire). boto3 presigns with
# SigV2 unless told otherwise (at least up to botocore 1.43); Cairn speaks SigV4 only and must say
# so clearly.
v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "dir/small.bin"}, ExpiresIn=300)
out["presignedV2"] = {"sigv2": "AWSAccessKeyId=" in v2_url}
try:
    with urllib.request.urlopen(v2_url, timeout=30) as response:
        out["presignedV2"].update({"status": response.status, "body": ""})
except urllib.error.HTTPError as error:
    out["presignedV2"].update({"status": error.code, "body": error.read().decode()})
s3 = client(s3={"addressing_style": "path"}, signature_version="s3v4")
get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "dir/small.bin"}, ExpiresIn=300)
with urllib.request.urlopen(get_url, timeout=30) as response:
    out["presignedGet"] = {"status": response.status, "sameBytes": response.read() == body}
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "boto", "Key": "presigned.txt"}, ExpiresIn=300)
request = urllib.request.Request(put_url, data=b"put via presign", method="PUT")
with urllib.request.urlopen(request, timeout=30) as response:
    out["presignedPut"] = {"status": response.status}
out["presignedPut"]["body"] = s3.get_object(Bucket="boto", Key="presigned.txt")["Body"].read().decode()

# Virtual-hosted style: bucket.s3.localhost. RFC 6761 §6.3 says *.localhost is loopback, but not
# every resolver implements it (this machine's does not), so this process maps *.localhost to
# 127.0.0.1 itself; what reaches the server is boto3's own Host header and signature.
real_getaddrinfo = socket.getaddrinfo


def loopback_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = loopback_getaddrinfo
virtual = client(endpoint=f"http://s3.localhost:{port}", s3={"addressing_style": "virtual"})
virtual.put_object(Bucket="boto", Key="virtual/key.txt", Body=b"virtual hosted")
seen_hosts = []
virtual.meta.events.register("before-send.s3", lambda request, **_: seen_hosts.append(request.url.split("/")[2]))
out["virtual"] = {
    "body": virtual.get_object(Bucket="boto", Key="virtual/key.txt")["Body"].read().decode(),
    "keys": [item["Key"] for item in virtual.list_objects_v2(Bucket="boto", Prefix="virtual/").get("Contents", [])],
    "hosts": seen_hosts,
}

try:
    s3.get_object(Bucket="boto", Key="missing")
    out["missing"] = "no error"
except ClientError as error:
    out["missing"] = error.response["Error"]["Code"]

everything = [item["Key"] for item in s3.list_objects_v2(Bucket="boto").get("Contents", [])]
deleted = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": key} for key in everything]})
out["deleted"] = sorted(item["Key"] for item in deleted.get("Deleted", []))
s3.delete_bucket(Bucket="boto")
out["bucketsAfter"] = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
print(json.dumps(out))
