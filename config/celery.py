"""The Celery application; broker and options come from ``config.settings``."""

import os

from celery import Celery, signals

from config import broker
from core.collector import tune_for_serving

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

broker.register()
app = Celery("agentry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_ready.connect
def _tune_collector(**kwargs) -> None:
    tune_for_serving()  # once the worker has loaded its tasks and Django
