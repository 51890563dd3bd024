#!/usr/bin/env node
// Placeholder until the local-system issue lands: it will build and start every process.
console.log('npm start: not yet — the local system (all four services and the simulators) lands with issue 8.');
console.log('Meanwhile: `npm run start:simulators` starts the downstream simulators.');
