"""The published W2VV++ and SEA codes' parameter names and layouts, and this project's successor
models' weights in them (w2vv.common_space). No Keras here: a folder of published parameters is
recognised, and refused in one line, before Keras starts.

- W2VV++ (``W2VVPP``: ``vis_net``, ``txt_net``): ``vis.fc1``, ``txt.encoder.rnn_encoder.we`` and ``.rnn``,
  ``txt.transformer.fc1``;
- SEA (``MultiSpaceVisNet``, ``MultiSpaceTxtNet``): ``vis.vis_nets.K.transformer.fc1`` and
  ``txt.txt_nets.K.transformer.fc1`` for its spaces K = 0, 1, 2 (bag of words, mean word2vec, GRU),
  ``txt.txt_nets.2.encoder.we`` and ``.rnn``.

(``vis.`` and ``txt.`` prefix the two state dicts the published ``state_dict()`` returns.) Layouts:
``nn.Linear.weight`` is (out, in), Keras's ``Dense`` kernel (in, out); ``nn.GRU``'s ``weight_ih_l0`` is
(3H, in) with the gates' rows in the order r, z, n, Keras's ``GRU`` kernel (in, 3H) with the columns
z, r, h (the same for ``weight_hh_l0`` and the recurrent kernel); torch's ``bias_ih_l0`` and
``bias_hh_l0`` are the rows 0 and 1 of Keras's (2, 3H) bias (``reset_after=True``), gates reordered alike."""
import numpy as np

FAMILIES = ("w2vvpp", "sea")
# the spaces of each family, in torch's order (SEA: its txt_nets / vis_nets 0, 1, 2)
SPACES = {"w2vvpp": ("common",), "sea": ("bow", "w2v", "gru")}


def _swap_first_gates(w, axis):
    """torch's gate blocks (r, z, n) <-> Keras's (z, r, h) along ``axis``: the first two swapped (an involution)."""
    first, second, third = np.split(np.asarray(w), 3, axis=axis)
    return np.concatenate([second, first, third], axis=axis)


def space_layer(tower, family, space):
    """The Keras layer of ``tower`` ('text' or 'image') into ``space``: ``text_space`` (W2VV++'s one space),
    ``text_space_bow`` … (SEA's, one per space)."""
    return f"{tower}_space" if family == "w2vvpp" else f"{tower}_space_{space}"


def torch_layout(family, spaces=None):
    """{torch name: (Keras layer, weight index, kind)} for ``family``; kind: 'linear_weight', 'plain',
    'gru_weight', 'gru_bias_ih' or 'gru_bias_hh'."""
    spaces = spaces or SPACES[family]
    out = {}

    def linear(prefix, layer):
        out[f"{prefix}.weight"] = (layer, 0, "linear_weight")
        out[f"{prefix}.bias"] = (layer, 1, "plain")

    def text_encoder(prefix):
        out[f"{prefix}.we.weight"] = ("word_embedding", 0, "plain")
        out[f"{prefix}.rnn.weight_ih_l0"] = ("sentence_gru", 0, "gru_weight")
        out[f"{prefix}.rnn.weight_hh_l0"] = ("sentence_gru", 1, "gru_weight")
        out[f"{prefix}.rnn.bias_ih_l0"] = ("sentence_gru", 2, "gru_bias_ih")
        out[f"{prefix}.rnn.bias_hh_l0"] = ("sentence_gru", 2, "gru_bias_hh")

    if family == "w2vvpp":
        linear("vis.fc1", space_layer("image", family, "common"))
        text_encoder("txt.encoder.rnn_encoder")
        linear("txt.transformer.fc1", space_layer("text", family, "common"))
    else:
        for k, space in enumerate(spaces):
            linear(f"vis.vis_nets.{k}.transformer.fc1", space_layer("image", family, space))
        for k, space in enumerate(spaces):
            if space == "gru":
                text_encoder(f"txt.txt_nets.{k}.encoder")
            linear(f"txt.txt_nets.{k}.transformer.fc1", space_layer("text", family, space))
    return out


def family_of_torch_names(names):
    """'w2vvpp' or 'sea' from a published model's parameter names (as the fixtures write them), or None."""
    names = set(names)
    for family in FAMILIES:
        if names == set(torch_layout(family)):
            return family
    return None


def _torch_form(w, kind):
    """A Keras weight (for a GRU bias: its row) in torch's layout."""
    if kind == "linear_weight":
        return w.T
    if kind == "gru_weight":
        return _swap_first_gates(w.T, axis=0)
    if kind in ("gru_bias_ih", "gru_bias_hh"):
        return _swap_first_gates(w, axis=0)
    return w


def _keras_form(w, kind):
    """The inverse of ``_torch_form``."""
    if kind == "linear_weight":
        return w.T
    if kind == "gru_weight":
        return _swap_first_gates(w, axis=0).T
    if kind in ("gru_bias_ih", "gru_bias_hh"):
        return _swap_first_gates(w, axis=0)
    return w


def _bias_row(kind):
    return {"gru_bias_ih": 0, "gru_bias_hh": 1}.get(kind)


def to_torch(models):
    """{torch name: array in torch's layout} of the models' weights."""
    out = {}
    for name, (layer, index, kind) in torch_layout(models.family, models.spaces).items():
        w = np.asarray(models.train.get_layer(layer).get_weights()[index])
        out[name] = _torch_form(w if _bias_row(kind) is None else w[_bias_row(kind)], kind)
    return out


def from_torch(models, state):
    """Set the models' weights from ``state`` ({torch name: array}, every name of the family's layout;
    ValueError naming the first missing or misshapen one)."""
    weights = {}
    for name, (layer, index, kind) in torch_layout(models.family, models.spaces).items():
        if name not in state:
            raise ValueError(f"{name}: missing")
        current = weights.setdefault(layer, [np.array(w) for w in models.train.get_layer(layer).get_weights()])
        row = _bias_row(kind)
        expected = _torch_form(current[index] if row is None else current[index][row], kind).shape
        w = np.asarray(state[name], np.float32)
        if w.shape != expected:
            raise ValueError(f"{name}: shape {w.shape}, expected {expected}")
        if row is None:
            current[index] = _keras_form(w, kind)
        else:
            current[index][row] = _keras_form(w, kind)
    for layer, values in weights.items():
        models.train.get_layer(layer).set_weights(values)
