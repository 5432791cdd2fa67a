# Databricks notebook source
# Publishes the verdict the monitor task recorded for this run's window as the task value
# `retrain` ("true"/"false"), which the monitoring job's condition task reads before it runs the
# ml_pipeline job. Databricks documents dbutils.jobs.taskValues.set for Python notebooks only
# (docs.databricks.com/jobs/task-values.html), hence this one notebook; the code is the ML
# wheel's (a library of this task), its parameters are the job parameters (widgets).
from taxi_fare_mlops.cli import notebook_main

notebook_main("publish_verdict", dbutils)  # noqa: F821 - dbutils is a notebook global
