// Starts s3rver (3.7.1 or @20minutes/s3rver 4.0.4) through its JavaScript API on 127.0.0.1 with
// a kernel-chosen port, then prints "listening <port>". 4.0.4's package has no bin file, so this is
// the only way to start it. Used by testing/s3_test_server.cpp.
//   node --openssl-legacy-provider s3rver.js <package dir> <data dir> [bucket ...]
'use strict';
const [pkg, directory, ...buckets] = process.argv.slice(2);
const S3rver = require(pkg);
new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  resetOnClose: true,
  allowMismatchedSignatures: false,
  configureBuckets: buckets.map((name) => ({ name })),
})
  .run()
  .then(({ port }) => console.log(`listening ${port}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
