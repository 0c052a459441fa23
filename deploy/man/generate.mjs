#!/usr/bin/env node
// Writes enrolld.8 (roff, man(7) macros) and the bash completion script from the command tables that
// `enrolld help` prints (dist/agent/cli/help.js), so the three never disagree. deploy/deb/build.sh runs it:
//
//   node deploy/man/generate.mjs DIST_DIR OUT_DIR      → OUT_DIR/enrolld.8, OUT_DIR/enrolld.bash-completion
//
// enrolld.json.5 (the configuration file) is generated from the config schema by generate-config.mjs beside this script.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [distDir, outDir] = process.argv.slice(2);
if (!distDir || !outDir) {
  process.stderr.write('usage: generate.mjs DIST_DIR OUT_DIR\n');
  process.exit(2);
}
const { COMMANDS, GLOBAL_OPTIONS, HELP_TOPICS } = await import(pathToFileURL(path.resolve(distDir, 'agent/cli/help.js')).href);
const { version } = await import(pathToFileURL(path.resolve(distDir, '..', 'package.json')).href, { with: { type: 'json' } }).then((m) => m.default);

/** Text → roff: escape backslashes, leading dots/quotes, and hyphens in flags (policy: `\-` is a real minus). */
function roff(text) {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/^([.'])/gm, '\\&$1');
}
const flag = (o) => `${o.short ? `\\fB${roff(o.short)}\\fR, ` : ''}\\fB${roff(o.flag)}\\fR${o.arg ? ` \\fI${roff(o.arg)}\\fR` : ''}`;

const man = [];
man.push(`.TH ENROLLD 8 "" "enrolld ${version}" "System Administration"`);
man.push('.SH NAME', 'enrolld \\- TPM\\-backed certificate enrollment agent');
man.push('.SH SYNOPSIS');
for (const c of COMMANDS) man.push('.HP', `\\fBenrolld\\fR \\fB${roff(c.name)}\\fR ${roff(c.synopsis)}`.trimEnd());
man.push('.SH DESCRIPTION');
man.push(
  roff(
    'enrolld enrolls and renews device certificates whose private keys never leave the TPM (EST, RFC 7030, with the RFC 8295 extensions; CMP, CMC and ACME as alternatives), processes the Package Availability List (CA certificates, CRLs, firmware, trust anchors, key packages) and publishes device status to MQTT.',
  ),
  '.PP',
  roff('On a device it runs as the systemd service enrolld.service (`enrolld run`), which starts whenever /dev/tpmrm0 is present. The configuration is /etc/enrolld/config.json, described in enrolld.json(5); the state lives in /var/lib/enrolld.'),
);
man.push('.SH COMMANDS');
for (const c of COMMANDS) {
  man.push(`.SS "${roff(c.name)}"`, roff(c.summary) + '.');
  for (const p of c.description) man.push('.PP', roff(p));
  if (c.options.length) {
    man.push('.PP', 'Options:');
    for (const o of c.options) man.push('.TP', flag(o), roff(o.text) + (o.values ? ` (${o.values.map(roff).join(', ')})` : ''));
  }
  if (c.exit.length) {
    man.push('.PP', 'Exit status:');
    for (const e of c.exit) {
      const [code, ...rest] = e.trim().split(/\s+/);
      man.push('.TP', `\\fB${code}\\fR`, roff(rest.join(' ')));
    }
  }
}
man.push('.SH OPTIONS', 'Every command accepts:');
for (const o of GLOBAL_OPTIONS) man.push('.TP', flag(o), roff(o.text));
man.push(
  '.SH FILES',
  '.TP',
  '\\fI/etc/enrolld/config.json\\fR',
  roff('Configuration (enrolld.json(5)); root:enrolld 0640. Files it names relatively are found beside it.'),
  '.TP',
  '\\fI/var/lib/enrolld/\\fR',
  roff('State (0700, user enrolld): the lifecycle state, the credential, the TA and CRL stores. Removing the package, even purging it, keeps it: it names TPM objects of this device.'),
  '.TP',
  '\\fI/lib/systemd/system/enrolld.service\\fR',
  roff('The hardened service unit (Type=notify, watchdog). Site settings such as IPAddressAllow= belong in a drop-in, /etc/systemd/system/enrolld.service.d/*.conf.'),
  '.SH ENVIRONMENT',
  '.TP',
  '\\fBTSS2_LOG\\fR',
  roff('tpm2-tss logging (the unit sets all+none).'),
  '.TP',
  '\\fBENROLLD_HOME\\fR',
  roff('Where /usr/bin/enrolld finds the program (default /usr/lib/enrolld).'),
  '.SH SEE ALSO',
  '\\fBenrolld.json\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBsystemd.exec\\fR(5)',
);
writeFileSync(path.join(outDir, 'enrolld.8'), man.join('\n') + '\n');

// bash completion: commands, then the options of the command on the line; closed value sets and file arguments.
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const cases = COMMANDS.filter((c) => c.name !== 'help').map((c) => {
  const opts = [...new Set([...c.options, ...GLOBAL_OPTIONS].flatMap((o) => [o.flag, ...(o.short ? [o.short] : [])]))];
  return `    ${c.name}) opts=${quote(opts.join(' '))} ;;`;
});
const valueCases = [];
const fileFlags = new Set();
const dirFlags = new Set();
const takesArg = new Set();
for (const c of COMMANDS) {
  for (const o of [...c.options, ...GLOBAL_OPTIONS]) {
    if (!o.arg) continue;
    takesArg.add(o.flag);
    if (o.values) valueCases.push(`    ${c.name}:${o.flag}) COMPREPLY=($(compgen -W ${quote(o.values.join(' '))} -- "$cur")); return ;;`);
    else if (o.arg === 'FILE' || o.arg === 'PATH') fileFlags.add(o.flag);
    else if (o.arg === 'DIR') dirFlags.add(o.flag);
  }
}
const completion = `# bash completion for enrolld(8); generated from \`enrolld help\` by deploy/man/generate.mjs.
_enrolld() {
  local cur prev cmd opts i
  cur=\${COMP_WORDS[COMP_CWORD]}
  prev=\${COMP_WORDS[COMP_CWORD-1]}
  cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) ;; *) cmd=\${COMP_WORDS[i]}; break ;; esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W ${quote(COMMANDS.map((c) => c.name).join(' '))} -- "$cur"))
    return
  fi
  case $cmd:$prev in
${[...new Set(valueCases)].join('\n')}
  esac
  case $prev in
    ${[...fileFlags].join('|') || '--config'}) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    ${[...dirFlags].join('|') || '--no-such-flag'}) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    ${[...takesArg].filter((f) => !fileFlags.has(f) && !dirFlags.has(f)).join('|') || '--no-such-flag'}) return ;;
  esac
  case $cmd in
${cases.join('\n')}
    help) COMPREPLY=($(compgen -W ${quote([...COMMANDS.map((c) => c.name), ...(HELP_TOPICS ?? [])].join(' '))} -- "$cur")); return ;;
    *) opts= ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _enrolld enrolld
`;
writeFileSync(path.join(outDir, 'enrolld.bash-completion'), completion);
