"""ogi: watch Chinese government open-information annual reports, extract
their figures, index them and alert on what moves.

This package holds what the services share: settings, the topic table,
logging, Kafka and Elasticsearch adapters, the local servers, and the
``ogi`` command line. The services themselves live in ``services/``.
"""

__version__ = "0.1.0"
