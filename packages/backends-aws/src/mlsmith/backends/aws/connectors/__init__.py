"""Data-source connectors of the AWS package (entry-point group ``mlsmith.connectors``)."""
