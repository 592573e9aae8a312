#!/usr/bin/env node
// Install script: builds native-bindings/build/Release/netpeer_enet.node with
// node-gyp. Plain Node, no dependencies, so it can run before anything else.
//
// Run from anywhere: `node native-bindings/build.js`.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const bindingDir = __dirname;
const nodePrefix = path.resolve(path.dirname(process.execPath), '..');
const isWindows = process.platform === 'win32';

function fail(message) {
  process.stderr.write(`netpeer: ${message}\n`);
  process.exit(1);
}

// True when `name` is an executable file on PATH (or an absolute path).
function onPath(name) {
  const exts = isWindows ? (process.env.PATHEXT || '.EXE').split(';') : [''];
  const dirs = path.isAbsolute(name) ? [''] : (process.env.PATH || '').split(path.delimiter);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

function installHint() {
  if (process.platform === 'darwin') return 'xcode-select --install (and python3)';
  if (fs.existsSync('/etc/alpine-release')) return 'apk add g++ make python3';
  if (fs.existsSync('/etc/redhat-release')) return 'dnf install gcc-c++ make python3';
  return 'apt-get install g++ make python3';
}

// node-gyp finds Visual Studio and Python itself on Windows; elsewhere a
// missing tool would only surface as a cryptic gyp error, so check first.
function checkToolchain() {
  if (isWindows) return;
  const missing = [];
  const cxx = process.env.CXX ? process.env.CXX.trim().split(/\s+/)[0] : '';
  if (cxx ? !onPath(cxx) : !onPath('c++') && !onPath('g++') && !onPath('clang++')) {
    missing.push(cxx ? `C++ compiler (CXX=${process.env.CXX})` : 'C++ compiler (c++/g++)');
  }
  if (!onPath('make')) missing.push('make');
  const python = process.env.PYTHON || process.env.npm_config_python;
  if (python ? !onPath(python) : !onPath('python3')) missing.push('python3');
  if (missing.length > 0) {
    fail(
      `cannot build the ENet addon: missing ${missing.join(', ')}.\n` +
        `Install them with: ${installHint()}\n` +
        'Without the addon, netpeer still works with its loopback driver.',
    );
  }
}

// Headers shipped with this Node: node-gyp must not download them (offline
// machines, CI without network).
function configureNodedir(env) {
  if (env.npm_config_nodedir) return;
  if (fs.existsSync(path.join(nodePrefix, 'include', 'node', 'node_api.h'))) {
    env.npm_config_nodedir = nodePrefix;
  }
}

function findNodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // fall through to npm's copy
  }
  const candidates = [
    path.join(nodePrefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(nodePrefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) fail('cannot find node-gyp: install it with `npm install -g node-gyp`.');
  return found;
}

function main() {
  checkToolchain();
  const env = { ...process.env };
  configureNodedir(env);
  const nodeGyp = findNodeGyp();
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild'], {
    cwd: bindingDir,
    env,
    stdio: 'inherit',
  });
  if (result.error) fail(`could not run node-gyp: ${result.error.message}`);
  if (result.status !== 0) {
    process.stderr.write('netpeer: building the ENet addon failed (see the output above).\n');
  }
  process.exit(result.status === null ? 1 : result.status);
}

main();
