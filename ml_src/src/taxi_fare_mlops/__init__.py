"""NYC taxi fare MLOps package: features, training, validation gate, promotion, scoring, monitoring.

Every step is a plain function that takes its inputs explicitly; ``taxi_fare_mlops.cli`` exposes
them as console scripts for Databricks ``python_wheel_task`` and ``taxi_fare_mlops.local_pipeline``
runs them end to end on generated data.
"""

__version__ = "0.1.0"
