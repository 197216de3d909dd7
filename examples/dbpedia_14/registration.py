# coding=utf-8
# Registry entries for THUDM/GLM (examples/dbpedia_14). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `dbpedia_14`.

# install.py appends one line per registry to upstream's files, each importing from this module:
#   tasks/superglue/dataset.py   PROCESSORS["dbpedia_14"]
#   tasks/superglue/pvp.py       PVPS["dbpedia_14"]
#   tasks/superglue/finetune.py  DEFAULT_METRICS["dbpedia_14"]
TASK_NAME = "dbpedia_14"
PROCESSOR = ("examples.dbpedia_14.dataset", "Dbpedia14Processor")
PVP = ("examples.dbpedia_14.pvp", "Dbpedia14PVP")
METRICS = [('accuracy', 'accuracy_metric'), ('f1-macro', 'f1_macro_metric')]  # (name upstream reports, function of tasks/eval_utils.py)
