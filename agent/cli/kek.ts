// `enrolld kek`: the operator's handle on the device key-encryption key of encrypted key packages (RFC 6032
// EncryptedKeyPackage, RFC 5652 §6 EnvelopedData). Creates the KEK in the TPM when it is missing — the same path the
// key-packages feature takes at its first start — writes its SubjectPublicKeyInfo PEM to keyPackages.kek.publicKeyFile
// (and to --out), and prints it with its key identifier (RFC 5280 §4.2.1.2 method 1, the ktri rid a sender uses), so
// manufacturing can hand it to the key server before the daemon ever ran.
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from '../config.js';
import { openKeystore } from '../features/context.js';
import { publishKek } from '../features/key-packages/index.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { createLogger } from '../util/log.js';

export async function runKekCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG_PATH },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(values.config);
  const k = config.keyPackages;
  if (!k) throw new ConfigError('keyPackages', 'not configured: the agent opens no key packages, so it has no key-encryption key');
  if (!k.kek.enabled) throw new ConfigError('keyPackages.kek.enabled', 'is false: the agent opens no encrypted key packages, so it keeps no key-encryption key');
  const log = createLogger({ level: config.log.level, fields: { device: config.deviceId } });
  const keystore = await openKeystore(config, log);
  let kek;
  try {
    kek = await publishKek(config.stateDir, k, keystore, new Date());
  } finally {
    await keystore.close();
  }
  if (values.out) await writeFileAtomic(values.out, kek.publicKeyPem, { mode: 0o644 });
  if (values.json) {
    process.stdout.write(JSON.stringify({ keyId: kek.keyId, algorithm: 'rsa-2048', keyTransport: 'RSAES-OAEP SHA-256 MGF1-SHA-256', created: kek.created, createdAt: kek.createdAt, file: kek.file, ...(values.out ? { out: values.out } : {}), publicKeyPem: kek.publicKeyPem }, null, 2) + '\n');
  } else {
    process.stdout.write(
      [
        `key-encryption key: RSA-2048 in the TPM, ${kek.created ? 'created now' : `created ${kek.createdAt}`}`,
        `key identifier (subjectKeyIdentifier): ${kek.keyId}`,
        'key transport: RSAES-OAEP, SHA-256, MGF1-SHA-256, empty label (RFC 4055 §4.1)',
        `public key file: ${kek.file}${values.out ? `, ${values.out}` : ''}`,
        kek.publicKeyPem.trimEnd(),
      ].join('\n') + '\n',
    );
  }
  return 0;
}
