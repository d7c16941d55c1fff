#!/usr/bin/env node
// Compiles Solidity with the pinned solcjs, the optimizer off by default
// (solcjs runs out of WebAssembly memory optimizing the large generated
// verifier); `--optimize` turns it on (200 runs), which the Rollup contract
// needs to stay under EIP-170's 24,576-byte limit on runtime code.
// Usage: node compile.js [--optimize] [CONTRACT] < source.sol
// Prints the deployment bytecode of CONTRACT (default: the last contract of
// the source) as hex on stdout; errors go to stderr with a non-zero exit.
const solc = require('solc');
const fs = require('fs');
const source = fs.readFileSync(0, 'utf8');
const args = process.argv.slice(2);
const optimize = args[0] === '--optimize';
if (optimize) args.shift();
const input = {
  language: 'Solidity',
  sources: { 'input.sol': { content: source } },
  settings: {
    optimizer: optimize ? { enabled: true, runs: 200 } : { enabled: false },
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
const name = args[0] || names[names.length - 1];
if (!contracts[name]) {
  process.stderr.write(`no contract ${name} (have: ${names.join(', ')})\n`);
  process.exit(1);
}
process.stdout.write(contracts[name].evm.bytecode.object + '\n');
