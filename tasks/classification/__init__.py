"""Hand-written classification tasks scored as blank infilling: one module per data set (a DataProcessor for its
schema and labels, a PVP for its patterns and verbalizers), registered by one line in `tasks/registry.py`."""

from tasks.classification.ag_news import AgNewsProcessor, AgNewsPVP
from tasks.classification.dbpedia import DbpediaProcessor, DbpediaPVP

__all__ = ["AgNewsPVP", "AgNewsProcessor", "DbpediaPVP", "DbpediaProcessor"]
