"""Tasks: data processors, pattern-verbalizer pairs (PVPs), GLM input layouts and metrics.

Imports only `model.tokenizer` from the model side and holds no `nn.Module`: everything here turns text into
plain token-id lists (`base`, `layout`) and those into tensors (`layout`'s collate functions), so the same code
serves training, evaluation and the tools that only inspect prompts.
"""
