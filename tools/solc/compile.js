#!/usr/bin/env node
// Compiles Solidity with the pinned solcjs (optimizer off: solcjs runs out
// of WebAssembly memory optimizing the large generated verifier).
// Usage: node compile.js [CONTRACT] < source.sol
// Prints the deployment bytecode of CONTRACT (default: the last contract of
// the source) as hex on stdout; errors go to stderr with a non-zero exit.
const solc = require('solc');
const fs = require('fs');
const source = fs.readFileSync(0, 'utf8');
const input = {
  language: 'Solidity',
  sources: { 'input.sol': { content: source } },
  settings: {
    optimizer: { enabled: false },
    outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length > 0) {
  for (const e of errors) process.stderr.write(e.formattedMessage + '\n');
  process.exit(1);
}
const contracts = out.contracts['input.sol'];
const names = Object.keys(contracts);
const name = process.argv[2] || names[names.length - 1];
if (!contracts[name]) {
  process.stderr.write(`no contract ${name} (have: ${names.join(', ')})\n`);
  process.exit(1);
}
process.stdout.write(contracts[name].evm.bytecode.object + '\n');
