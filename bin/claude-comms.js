#!/usr/bin/env node
// The claude-comms command: runs the compiled CLI (`npm run build` produces dist/).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`claude-comms: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
