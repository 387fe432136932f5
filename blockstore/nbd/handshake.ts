// The handshake shell (proto.md "Fixed newstyle negotiation", "Option types"): reads options with
// the pure codec, asks the registry, writes replies. Returns what transmission needs, or
// undefined when the client ended the session (NBD_OPT_ABORT). Throws HardDisconnect where
// proto.md "Termination of the session during option haggling" lets (or makes) us drop the
// connection: bad magic, unknown client flags, oversized options, too many options, and an
// NBD_OPT_EXPORT_NAME we cannot satisfy.
import type { BlockDevice, ExportRegistry } from './block-device.js';
import {
  clientFlagsBytes, decodeClientFlags, decodeOptionHeader, encodeExportNameReply, encodeGreeting, encodeInfoBlockSize,
  encodeInfoExport, encodeInfoString, encodeMetaContextReply, encodeOptionError, encodeOptionReply, encodeServerReply,
  type NbdOption, optionHeaderBytes, parseOption, selectMetaContexts,
} from './handshake-codec.js';
import { nbdBlockBytesMin, nbdBlockBytesPreferred, nbdExportsListedMax, nbdHandshakeOptionsMax, nbdRequestBytesMax } from './limits.js';
import { baseAllocationContextId, info, option, optionReply } from './protocol.js';
import type { SocketReader } from './socket-reader.js';
import { type TransmissionSession, transmissionFlagsFor } from './transmission-codec.js';

export class HardDisconnect extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'HardDisconnect';
  }
}

export interface Negotiated {
  exportName: string;
  device: BlockDevice;
  session: TransmissionSession;
}

interface HaggleState {
  noZeroes: boolean;
  structuredReplies: boolean;
  /** The last NBD_OPT_SET_META_CONTEXT: for which export, and what it selected. */
  metaContexts: { exportName: string; ids: number[] } | undefined;
}

export async function negotiate(reader: SocketReader, send: (bytes: Buffer) => void, registry: ExportRegistry): Promise<Negotiated | undefined> {
  send(encodeGreeting());
  const flags = decodeClientFlags(await reader.read(clientFlagsBytes));
  if (!flags.ok) throw new HardDisconnect(flags.reason);
  const state: HaggleState = { noZeroes: flags.noZeroes, structuredReplies: false, metaContexts: undefined };
  for (let count = 0; count < nbdHandshakeOptionsMax; count += 1) {
    const decoded = decodeOptionHeader(await reader.read(optionHeaderBytes));
    if (!decoded.ok) throw new HardDisconnect(decoded.reason);
    const { code, length } = decoded.header;
    const payload = length > 0 ? await reader.read(length) : Buffer.alloc(0);
    const parsed = parseOption(code, payload);
    if (!parsed.ok) {
      // proto.md NBD_OPT_EXPORT_NAME has no error reply: the server MUST terminate the session.
      if (code === option.exportName) throw new HardDisconnect(parsed.refusal.message);
      // proto.md NBD_OPT_SET_META_CONTEXT replaces the selection "including when this command fails".
      if (code === option.setMetaContext) state.metaContexts = undefined;
      send(encodeOptionError(code, parsed.refusal));
      continue;
    }
    const outcome = await handleOption(parsed.option, code, state, send, registry);
    if (outcome !== 'continue') return outcome === 'abort' ? undefined : outcome;
  }
  throw new HardDisconnect(`more than ${nbdHandshakeOptionsMax} options`);
}

async function handleOption(parsed: NbdOption, code: number, state: HaggleState, send: (bytes: Buffer) => void,
  registry: ExportRegistry): Promise<Negotiated | 'abort' | 'continue'> {
  switch (parsed.kind) {
    case 'abort':
      send(encodeOptionReply(code, optionReply.ack));
      return 'abort';
    case 'exportName': {
      const device = await registry.open(parsed.name);
      if (!device) throw new HardDisconnect(`NBD_OPT_EXPORT_NAME for unknown export ${JSON.stringify(parsed.name)}`);
      const negotiated = negotiatedFor(parsed.name, device, state);
      send(encodeExportNameReply(device.sizeBytes, negotiated.session.transmissionFlags, state.noZeroes));
      return negotiated;
    }
    case 'list': {
      const exports = (await registry.list()).slice(0, nbdExportsListedMax);
      for (const entry of exports) send(encodeServerReply(entry.name, entry.description));
      send(encodeOptionReply(code, optionReply.ack));
      return 'continue';
    }
    case 'info':
    case 'go': return infoOrGo(parsed.kind, parsed.name, parsed.infoRequests, code, state, send, registry);
    case 'structuredReply':
      // proto.md "Fixed newstyle negotiation": a repeated state change MAY fail with NBD_REP_ERR_INVALID.
      if (state.structuredReplies) send(encodeOptionError(code, { reply: optionReply.errInvalid, message: 'structured replies already negotiated' }));
      else {
        state.structuredReplies = true;
        send(encodeOptionReply(code, optionReply.ack));
      }
      return 'continue';
    case 'listMetaContext':
    case 'setMetaContext': return metaContext(parsed.kind, parsed.name, parsed.queries, code, state, send);
    // proto.md "NOTLS mode": NBD_REP_ERR_UNSUP when the server does not support STARTTLS at all.
    case 'startTls':
      send(encodeOptionError(code, { reply: optionReply.errUnsup, message: 'this server does not offer TLS (loopback only)' }));
      return 'continue';
    case 'unknown':
      send(encodeOptionError(code, { reply: optionReply.errUnsup, message: `option ${parsed.code} is not supported` }));
      return 'continue';
  }
}

async function infoOrGo(kind: 'info' | 'go', name: string, infoRequests: readonly number[], code: number, state: HaggleState,
  send: (bytes: Buffer) => void, registry: ExportRegistry): Promise<Negotiated | 'continue'> {
  const device = await registry.open(name);
  if (!device) {
    send(encodeOptionError(code, { reply: optionReply.errUnknown, message: `no export named ${JSON.stringify(name)}` }));
    return 'continue';
  }
  const negotiated = negotiatedFor(name, device, state);
  send(encodeInfoExport(code, device.sizeBytes, negotiated.session.transmissionFlags));
  if (infoRequests.includes(info.name)) send(encodeInfoString(code, info.name, name));
  if (infoRequests.includes(info.description)) {
    const description = (await registry.list()).find((entry) => entry.name === name)?.description;
    if (description) send(encodeInfoString(code, info.description, description));
  }
  // Sent unasked too (proto.md allows it): our constraints are the defaults, so clients that did not
  // ask lose nothing, and those that did learn the 32 MiB payload limit.
  send(encodeInfoBlockSize(code, nbdBlockBytesMin, nbdBlockBytesPreferred, nbdRequestBytesMax));
  send(encodeOptionReply(code, optionReply.ack));
  if (kind === 'go') return negotiated;
  await device.close?.();
  return 'continue';
}

function metaContext(kind: 'listMetaContext' | 'setMetaContext', exportName: string, queries: readonly string[], code: number,
  state: HaggleState, send: (bytes: Buffer) => void): 'continue' {
  if (kind === 'setMetaContext') state.metaContexts = undefined;
  // proto.md: SET MUST NOT (LIST SHOULD NOT) come before structured replies; we answer both with INVALID.
  if (!state.structuredReplies) {
    send(encodeOptionError(code, { reply: optionReply.errInvalid, message: 'negotiate structured replies first' }));
    return 'continue';
  }
  const selected = selectMetaContexts(kind === 'listMetaContext' ? 'list' : 'set', queries);
  // proto.md NBD_OPT_LIST_META_CONTEXT: the context id in list replies SHOULD be zero.
  const id = kind === 'listMetaContext' ? 0 : baseAllocationContextId;
  for (const context of selected) send(encodeMetaContextReply(code, id, context));
  if (kind === 'setMetaContext' && selected.length > 0) state.metaContexts = { exportName, ids: [baseAllocationContextId] };
  send(encodeOptionReply(code, optionReply.ack));
  return 'continue';
}

/** Contexts count only if the last SET named the export finally chosen (proto.md NBD_CMD_BLOCK_STATUS). */
function negotiatedFor(exportName: string, device: BlockDevice, state: HaggleState): Negotiated {
  const metaContextIds = state.metaContexts?.exportName === exportName ? state.metaContexts.ids : [];
  return {
    exportName,
    device,
    session: {
      sizeBytes: device.sizeBytes,
      transmissionFlags: transmissionFlagsFor(device),
      structuredReplies: state.structuredReplies,
      metaContextIds,
    },
  };
}
