"""Thumbnailer: S3 upload -> SQS (S3 event notifications) -> Lambda -> thumbnails bucket.

Handler: ``thumbnailer.handler.handler``, an SQS batch with ReportBatchItemFailures.

Environment: THUMBNAIL_BUCKET (required), SIZES ("128,256,512"), OUTPUT_FORMAT
("JPEG" | "WEBP"), QUALITY (82), MAX_BYTES (52428800), MAX_PIXELS (50000000),
TOPIC_ARN (optional), FAILURE_PREFIX ("_failures/"), POWERTOOLS_SERVICE_NAME;
optional Rekognition analysis (thumbnailer.analysis): ANALYSIS_ENABLED ("true"),
ANALYSIS_MIN_CONFIDENCE (80), ANALYSIS_MAX_LABELS (10), ANALYSIS_BLOCK_CATEGORIES (JSON list).

Output, in THUMBNAIL_BUCKET only (the upload bucket is never written, tagged or deleted):
- ``<size>/<original key>`` for every size: the key is kept verbatim even when the
  output format differs from its extension (photo.png holds a JPEG), so no two uploads
  share a thumbnail key; Content-Type says what the bytes are. Reprocessing overwrites.
- ``<FAILURE_PREFIX><original key>.json`` for an upload that can never be thumbnailed
  (empty, not an image, corrupt or truncated, over MAX_BYTES or MAX_PIXELS). Such
  uploads are logged once and not retried; throttling, 5xx and network errors are.
  With analysis on, an image Rekognition flags gets only such a record (reason "flagged",
  with its moderation labels); accepted images' thumbnails carry their labels as metadata.
"""
