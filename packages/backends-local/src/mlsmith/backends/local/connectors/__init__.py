"""Data-source connectors of the local package (entry-point group ``mlsmith.connectors``)."""
