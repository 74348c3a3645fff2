// Starts fauxqs (S3 emulator) with a kernel-chosen port and prints "listening <port>". fauxqs
// binds 0.0.0.0 whatever it is told (its startFauxqs hard-codes the host); clients use 127.0.0.1.
//   node fauxqs.mjs <package dir> [bucket ...]
const [pkg, ...buckets] = process.argv.slice(2);
const { startFauxqs } = await import(`${pkg}/dist/app.js`);
const server = await startFauxqs({ port: 0, logger: false });
for (const name of buckets) server.createBucket(name);
console.log(`listening ${server.port}`);
