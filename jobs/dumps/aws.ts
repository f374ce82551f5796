// The dump check's one AWS call: a single ListObjectsV2 page of the job's 8 days of keys.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DumpJobConfig, type ListedObject, listRequest } from './check.js';

/** Lists the day's and the previous 7 days' objects of `job` with one ListObjectsV2 request. */
export async function listDumpRange(
  s3: S3Client,
  bucket: string,
  job: DumpJobConfig,
  day: string,
): Promise<ListedObject[]> {
  const res = await s3.send(new ListObjectsV2Command(listRequest(bucket, job, day)));
  return (res.Contents ?? [])
    .filter((o) => o.Key !== undefined)
    .map((o) => ({ key: o.Key as string, size: Number(o.Size ?? 0) }));
}
