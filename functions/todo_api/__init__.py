"""MyTodoList REST API: per-user to-dos in DynamoDB (through DAX when configured), and presigned URLs
for a per-user S3 folder."""
