"""mlsmith AWS backends (S3, KMS, SQS, SNS, RDS, Celery): delivered by the AWS issue."""
