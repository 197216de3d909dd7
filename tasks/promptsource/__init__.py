"""promptsource templates as GLM blank-infilling prompts, with no code per data set.

A promptsource template is a jinja string whose rendering is split at "|||" into an input and a target, plus an
optional `answer_choices` expression. GLM reads it as follows:

* the rendered input, then one [MASK] (`"<input> [MASK]"`): the answer is the blank GLM fills;
* with answer choices (classification or multiple choice): each choice, with the single leading space a word
  has after the input, is a verbalizer. Fixed choices are single-token when every `" " + choice` is one BPE
  token, multi-token otherwise; choices that depend on the example are per-example candidates (multi-token).
  The gold answer is the rendered target matched against the example's choices;
* without answer choices (generation): the same source, and the rendered target is generated after
  `<|startofpiece|>`.

Why this module renders the jinja itself instead of calling `Template.apply`: `apply` cuts every field to 2048
characters without saying so, and returns one string, so a long article could not be truncated apart from the
instruction. Here the template is rendered with promptsource's own jinja environment (so every filter and
global it offers behaves the same) and no cut. Long text fields are rendered as sentinels first; the rendered
string is then split at the sentinels into fixed instruction parts and shortenable field parts, and the split
is accepted only if putting the field values back reproduces the plain rendering exactly.

Two more promptsource behaviours are changed on purpose, both for reproducibility: its `choice` filter draws
from the global `random` state on every call; here it draws from a generator seeded by the template and the
example, so one example always gets the same prompt (and the global random state is left alone). And a field
a template reads but the data lacks renders as an empty string in promptsource; here it is an error.

Prompt ids: the templates of a data set are numbered 0, 1, ... in the order of their names (Python's string
order, as promptsource's `all_template_names` lists them), over all templates, original-task or not, so an id
does not change with `--allow-non-original`. Ids are stable for a given promptsource version (0.2.3 is pinned).
"""

from .catalogue import PromptInfo, TaskSpec, choice_kind, format_prompts, list_prompts, select, task_spec
from .loading import (
    PREFIX,
    SEPARATOR,
    EmptyRenderError,
    PromptsourceError,
    available_datasets,
    load_templates,
    parse_task_spec,
    promptsource_templates,
)
from .prompts import PromptsourceCloze, PromptsourceSeq2Seq, make_prompt
from .render import RenderedPrompt, TemplateRenderer
from .task import PromptsourcePVP, PromptsourceProcessor, PromptsourceTask, make_promptsource_task

__all__ = [
    "PREFIX", "SEPARATOR", "EmptyRenderError", "PromptInfo", "PromptsourceCloze", "PromptsourceError", "PromptsourcePVP",
    "PromptsourceProcessor", "PromptsourceSeq2Seq", "PromptsourceTask", "RenderedPrompt", "TaskSpec", "TemplateRenderer",
    "available_datasets", "choice_kind", "format_prompts", "list_prompts", "load_templates", "make_prompt",
    "make_promptsource_task", "parse_task_spec", "promptsource_templates", "select", "task_spec",
]
