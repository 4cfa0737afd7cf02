"""Signs CloudFront URLs and cookies for premium users (GET /signed-url, POST /signed-cookies)."""
