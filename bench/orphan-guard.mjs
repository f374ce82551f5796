// Preloaded into every process the bench starts (node --import): exits once the bench is gone, so a
// bench killed with SIGKILL leaves no target running. Costs one timer a second.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1_000).unref();
