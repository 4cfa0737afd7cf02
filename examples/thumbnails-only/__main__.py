"""Photos uploaded under uploads/ get WebP thumbnails in a second bucket; nothing else."""
import pulumi
from serverless_blueprints.thumbnail_pipeline import ThumbnailPipeline

from components.naming import resource_name

config = pulumi.Config()
photos = ThumbnailPipeline(resource_name("photos"), {
    "sizes": config.get_object("sizes") or [160, 320],
    "output_format": "WEBP",
})

pulumi.export("uploadBucket", photos.upload_bucket_name)
pulumi.export("uploadPrefix", photos.upload_prefix)
pulumi.export("thumbnailBucket", photos.thumbnail_bucket_name)
pulumi.export("deadLetterQueueUrl", photos.dlq_url)
