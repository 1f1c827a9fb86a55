/**
 * The BlobStore contract suite over the S3 store and a real Ceph RADOS Gateway
 * (scripts/ceph-rgw.sh, started on first use), in a fresh bucket with a key prefix, with
 * presigned redirects on, S3's smallest part size (5 MiB) and a small list page so that
 * listing walks several pages. The bucket must be empty at the end, then it is removed.
 */
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { bucketLeftovers, cephEndpoint, createBucket, deleteBucket, s3Settings } from '../helpers/s3.js';
import { createS3Client } from '../../src/storage/s3/client.js';
import { faultyS3 } from '../helpers/faults.js';
import { blobStoreSuite } from '../suites/blob-store.case.js';

const ep = await cephEndpoint();
const MiB = 1024 * 1024;

blobStoreSuite(
  's3 (Ceph RGW)',
  async () => {
    if (typeof ep === 'string') throw new Error(ep);
    const bucket = await createBucket(ep);
    const options = { ...s3Settings(ep, bucket, 'registry/'), redirect: true, redirectExpirySeconds: 300, partSizeBytes: 5 * MiB, listPageSize: 3 };
    const store = await S3BlobStore.open(options);
    return {
      store,
      openPeer: () => S3BlobStore.open(options),
      openFaulty: (faults) => S3BlobStore.open(options, faultyS3(createS3Client(options), faults)),
      partSize: 5 * MiB,
      leftovers: () => bucketLeftovers(ep, bucket),
      async close() {
        await store.close();
        await deleteBucket(ep, bucket, true);
      },
    };
  },
  { skip: typeof ep === 'string' ? ep : undefined },
);
