// Lambda's wire shapes (Lambda API Reference: FunctionConfiguration, AliasConfiguration), built
// from the persisted records. Fields Cairn does not model are given Lambda's defaults.
import type { AliasRecordV1, FunctionConfigV1 } from '../functions/records.js';
import { functionArn } from '../functions/records.js';

export function configurationShape(config: FunctionConfigV1, region: string): Record<string, unknown> {
  return {
    FunctionName: config.name,
    FunctionArn: functionArn(region, config.account, config.name, config.functionVersion === '$LATEST' ? undefined : config.functionVersion),
    Runtime: config.runtime,
    Role: config.role,
    Handler: config.handler,
    CodeSize: config.codeSize,
    Description: config.description,
    Timeout: config.timeout,
    MemorySize: config.memorySize,
    LastModified: config.lastModified,
    CodeSha256: config.codeSha256,
    Version: config.functionVersion,
    ...(Object.keys(config.environment).length ? { Environment: { Variables: config.environment } } : {}),
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: config.revisionId,
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: ['x86_64'],
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
  };
}

export function aliasShape(alias: AliasRecordV1, config: Pick<FunctionConfigV1, 'account' | 'name'>, region: string): Record<string, unknown> {
  return {
    AliasArn: functionArn(region, config.account, config.name, alias.name),
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    ...(Object.keys(alias.additionalVersionWeights).length ? { RoutingConfig: { AdditionalVersionWeights: alias.additionalVersionWeights } } : {}),
    RevisionId: alias.revisionId,
  };
}
