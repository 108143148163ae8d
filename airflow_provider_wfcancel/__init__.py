"""Apache Airflow provider that cancels Domo Workflow instances and EnOS Batch Processing flow instances."""

__version__ = "0.1.0"
