# coding=utf-8
# Install step for THUDM/GLM (examples/dbpedia_14). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `dbpedia_14`.

"""Register examples/dbpedia_14 in a THUDM/GLM checkout, or undo it.

    python examples/dbpedia_14/install.py [--glm-dir .] [--uninstall]

Appends a marked block to tasks/superglue/dataset.py, tasks/superglue/pvp.py, tasks/superglue/finetune.py and copies task_dbpedia_14.sh to config_tasks/. Running it twice changes nothing;
--uninstall removes exactly what it added.
"""
import argparse
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "dbpedia_14"
BEGIN = "# >>> examples/{} (registered by examples/{}/install.py)".format(NAME, NAME)
END = "# <<< examples/{}".format(NAME)
BLOCKS = {'tasks/superglue/dataset.py': 'from examples.dbpedia_14.dataset import Dbpedia14Processor  # noqa: E402\nPROCESSORS["dbpedia_14"] = Dbpedia14Processor', 'tasks/superglue/pvp.py': 'from examples.dbpedia_14.pvp import Dbpedia14PVP  # noqa: E402\nPVPS["dbpedia_14"] = Dbpedia14PVP', 'tasks/superglue/finetune.py': 'DEFAULT_METRICS["dbpedia_14"] = [("accuracy", accuracy_metric), ("f1-macro", f1_macro_metric)]'}
FRAGMENTS = ['task_dbpedia_14.sh']


def _without_block(text):
    if BEGIN not in text:
        return text
    head, rest = text.split(BEGIN, 1)
    if END not in rest:
        raise SystemExit("a block of examples/{} has no end marker; restore the file from git".format(NAME))
    return head.rstrip("\n") + "\n" + rest.split(END, 1)[1].lstrip("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--glm-dir", default=".", help="the THUDM/GLM checkout (default: the working directory)")
    parser.add_argument("--uninstall", action="store_true")
    args = parser.parse_args()
    for relative, block in BLOCKS.items():
        path = os.path.join(args.glm_dir, relative)
        if not os.path.isfile(path):
            raise SystemExit("{} not found: --glm-dir must be a THUDM/GLM checkout".format(path))
        with open(path, encoding="utf-8") as f:
            text = _without_block(f.read())
        if not args.uninstall:
            text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + block + "\n" + END + "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(("removed from " if args.uninstall else "registered in ") + relative)
    for fragment in FRAGMENTS:
        target = os.path.join(args.glm_dir, "config_tasks", fragment)
        if args.uninstall:
            if os.path.exists(target):
                os.remove(target)
        else:
            shutil.copyfile(os.path.join(HERE, fragment), target)
        print(("removed " if args.uninstall else "copied ") + "config_tasks/" + fragment)


if __name__ == "__main__":
    main()
