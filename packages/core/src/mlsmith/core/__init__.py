"""The pure core of mlsmith: domain, ports, services and the AutoML engine.

Nothing here imports an adapter, a web framework, a CLI framework, SQLAlchemy or boto3.
"""
