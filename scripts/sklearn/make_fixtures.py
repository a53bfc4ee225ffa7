"""scikit-learn models, serialised in several formats, with their own predictions.

Usage: /usr/bin/python3 make_fixtures.py OUT_DIR LUNG_CSV COHORT_RAW_CSV ANCHOR_RUN_DIR

LUNG_CSV is testdata/reference/lung.csv; COHORT_RAW_CSV is the training extract
of the synthetic demo cohort (caresignal generate, etl, extract); ANCHOR_RUN_DIR
is a copy of the flask-sklearn reference stack in which its gen_data.py and
train.py ran (see generate.sh): its model.pkl becomes the case anchor_flask.
For each data set the script

* splits the subjects into training and held-out ones by a hash of the id;
* writes the held-out rows to <dataset>_heldout.csv (plus a few edited copies
  with unseen levels and missing values, appended at the end) and reads that
  file back, so that the probabilities below come from exactly what the CSV
  file holds;
* fits every model kind on the training rows and writes it with pickle
  (protocols 2 to 5), joblib (uncompressed and zlib) and, for two kinds, as an
  MLflow model directory;
* loads every file it wrote back with pickle or joblib and checks that the
  predictions are bit for bit those of the fitted model;
* writes <dataset>_<kind>.json with scikit-learn's predict_proba on the
  held-out rows.

It also writes the hostile files of hostile/ (never loaded here) and
manifest.json. Every choice that could vary is fixed, so that two runs give
byte-identical files. See README.md.
"""

import os

# One thread for OpenMP and BLAS, set before numpy and scikit-learn start:
# HistGradientBoostingClassifier records the thread count in its pickle
# (_bin_mapper.n_threads), and parallel sums may round differently.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import copy
import hashlib
import importlib.metadata
import io
import json
import math
import pickle
import pickletools
import platform
import struct
import subprocess
import sys
import uuid
import warnings
import zlib

import joblib
import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

# The versions the fixtures record; others may change the last digits of the
# probabilities or the layout of the pickles.
EXPECTED_SKLEARN = "1.2.1"

# What the MLflow model directories claim to have been written by (see
# write_mlflow_dir and README.md): MLflow 2.9.2's mlflow.sklearn.save_model
# with serialization_format="pickle", a signature and an input example.
MLFLOW_VERSION = "2.9.2"
MLFLOW_TIME_CREATED = "2026-11-01 00:00:00.000000"
MLFLOW_UUID_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL

PICKLE_PROTOCOLS = (2, 3, 4, 5)
JOBLIB_ZLIB = ("zlib", 3)

DATASETS = {
    "lung": {
        "id": "id",
        "period": "period",
        "numeric": ["period", "age", "ph_karno", "wt_loss"],
        "categorical": ["sex", "ph_ecog"],
        # logreg_passthrough: these reach the classifier untouched
        # (ColumnTransformer remainder="passthrough"); never missing.
        "passthrough": ["period", "age"],
        # logreg_minmax_dropfirst: the categorical columns imputed with the
        # most frequent level, and the column imputed with a constant level.
        "most_frequent": ["sex"],
        "constant": {"column": "ph_ecog", "fill_value": "1"},
        # logreg_matrix / scaler_matrix: a plain float matrix, columns x0, x1, …
        "matrix": ["period", "age", "ph_karno", "wt_loss"],
        "heldout_fraction": 0.25,
        # Edited copies of held-out rows appended to the held-out file:
        # (index of the held-out row copied, {column: new value}); None is a
        # missing value (an empty cell).
        "edits": [
            (0, {"ph_ecog": "3"}),
            (1, {"ph_ecog": "3", "sex": None}),
            (2, {"sex": None}),
            (3, {"ph_ecog": None}),
            (4, {"wt_loss": None}),
            (5, {"ph_karno": None, "wt_loss": None, "ph_ecog": "3"}),
        ],
    },
    "cohort": {
        "id": "patient_id",
        "period": "month",
        "numeric": ["month", "age", "baseline_score", "prior_no_shows", "sessions_last_month",
                    "days_since_last_session", "messages_last_month"],
        "categorical": ["sex", "program", "channel", "enrolled_via"],
        "passthrough": ["month", "age", "prior_no_shows"],
        "most_frequent": ["sex", "program", "channel"],
        "constant": {"column": "enrolled_via", "fill_value": "self"},
        "matrix": ["month", "age", "prior_no_shows", "sessions_last_month", "days_since_last_session",
                   "messages_last_month"],
        "heldout_fraction": 0.03,
        "edits": [
            (0, {"channel": "email"}),
            (1, {"program": "oncology", "enrolled_via": "partner"}),
            (2, {"sex": None}),
            (3, {"enrolled_via": None}),
            (4, {"days_since_last_session": None}),
            (5, {"baseline_score": None, "sessions_last_month": None, "channel": None, "program": "oncology"}),
        ],
    },
}

# Model kinds in the order they are written; "mlflow": also written as an
# MLflow model directory.
KINDS = ["logreg", "logreg_minmax_dropfirst", "logreg_passthrough", "gbc", "hgbc", "hgbc_categorical",
         "logreg_matrix", "scaler_matrix",
         "logreg_period_onehot", "logreg_period_text", "logreg_period_onehot_error", "logreg_period_ordinal_error",
         "hgbc_period_ordinal"]
MLFLOW_KINDS = {"logreg", "gbc"}

# Kinds whose period column a categorical encoder reads: a baseline term per
# period, as scikit-learn users write it. They are also scored on
# <dataset>_period_beyond.csv, rows whose period the encoder was not fitted
# on; REFUSING_KINDS are those whose encoder refuses such a period
# (handle_unknown="error"), the others encode it as any unseen level.
PERIOD_KINDS = {"logreg_period_onehot", "logreg_period_text", "logreg_period_onehot_error",
                "logreg_period_ordinal_error", "hgbc_period_ordinal"}
REFUSING_KINDS = {"logreg_period_onehot_error", "logreg_period_ordinal_error"}
# Periods written to the beyond file, after the last period of training.
BEYOND_OFFSETS = (1, 2, 12)
# The kind whose period column is fitted as strings ("1", "2", …).
TEXT_PERIOD_KIND = "logreg_period_text"


class CheckFailed(Exception):
    pass


def check(ok, message):
    if not ok:
        raise CheckFailed(message)


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------
# Data.


def read_lung(path):
    d = pd.read_csv(path, float_precision="round_trip")
    spec = DATASETS["lung"]
    out = pd.DataFrame({"id": d["id"].astype(str), "period": d["period"].astype(np.int64),
                        "event": d["event"].astype(np.int64)})
    for col in spec["numeric"][1:]:
        out[col] = d[col].astype(np.float64)
    for col in spec["categorical"]:
        # Integer-coded in the file (sex 1/2, ph_ecog 0/1/2): levels as strings.
        out[col] = d[col].map(lambda v: str(int(v))).astype(object)
    return out


def read_cohort(path):
    spec = DATASETS["cohort"]
    d = pd.read_csv(path, dtype={"patient_id": str, "status": str}, float_precision="round_trip",
                    keep_default_na=False, na_values=[""])
    check(set(d["status"]) <= {"survived", "event", "censored"}, "cohort: unexpected status values")
    check(((d["status"] == "event") == (d["event"] == 1)).all(), "cohort: event disagrees with status")
    out = pd.DataFrame({"patient_id": d["patient_id"], "month": d["month"].astype(np.int64),
                        "event": d["event"].astype(np.int64)})
    for col in spec["numeric"][1:]:
        out[col] = d[col].astype(np.float64)
    for col in spec["categorical"]:
        check(not d[col].isna().any(), "cohort: missing values in %s" % col)
        out[col] = d[col].astype(str).astype(object)
    return out


def is_heldout(dataset, subject_id, fraction):
    """A subject is held out when the first 32 bits of SHA-256("<dataset>:<id>")
    fall below fraction * 2^32."""
    h = int(hashlib.sha256(("%s:%s" % (dataset, subject_id)).encode()).hexdigest()[:8], 16)
    return h < fraction * 2**32


def split(dataset, df):
    spec = DATASETS[dataset]
    held = df[spec["id"]].map(lambda s: is_heldout(dataset, s, spec["heldout_fraction"]))
    train = df[~held].reset_index(drop=True)
    heldout = df[held].reset_index(drop=True)
    check(len(set(train[spec["id"]]) & set(heldout[spec["id"]])) == 0, "a subject on both sides")
    return train, heldout


def edited_rows(dataset, df, heldout):
    """The edited copies appended to the held-out rows; a new level must occur
    nowhere in the data set."""
    spec = DATASETS[dataset]
    rows = []
    for source, changes in spec["edits"]:
        row = heldout.iloc[source].copy()
        for col, value in changes.items():
            check(col not in spec["passthrough"] or value is not None,
                  "%s: %s reaches the classifier untouched; it cannot be missing" % (dataset, col))
            if value is None:
                row[col] = np.nan
            else:
                check(col in spec["categorical"], "%s: only categorical columns get new levels" % dataset)
                check(value not in set(df[col]), "%s: %s=%s is not unseen" % (dataset, col, value))
                row[col] = value
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


def format_number(v):
    v = float(v)
    if math.isnan(v):
        return ""
    check(math.isfinite(v), "non-finite number in a CSV file")
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def format_string(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    check(isinstance(v, str) and v != "", "categorical value %r is not a non-empty string" % (v,))
    check(not any(ch in v for ch in ',"\r\n'), "categorical value %r needs quoting" % v)
    return v


def write_csv(path, df, id_col, numeric, categorical):
    lines = [",".join([id_col] + numeric + categorical)]
    for _, row in df.iterrows():
        cells = [format_string(row[id_col])]
        cells += [format_number(row[c]) for c in numeric]
        cells += [format_string(row[c]) for c in categorical]
        lines.append(",".join(cells))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def read_csv(path, id_col, numeric, categorical):
    """A held-out file as the Go tests read it: numbers as float64, an empty
    cell missing (NaN); categorical values as str, an empty cell missing."""
    dtypes = {id_col: str}
    dtypes.update({c: np.float64 for c in numeric})
    dtypes.update({c: str for c in categorical})
    d = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""], float_precision="round_trip")
    check(list(d.columns) == [id_col] + numeric + categorical, "%s: unexpected columns" % path)
    for c in categorical:
        d[c] = d[c].astype(object)
    return d


def same_frame(a, b, numeric, categorical):
    if len(a) != len(b):
        return False
    for c in numeric:
        if not np.array_equal(a[c].to_numpy(np.float64), b[c].to_numpy(np.float64), equal_nan=True):
            return False
    for c in categorical:
        for x, y in zip(a[c], b[c]):
            xm = not isinstance(x, str)
            ym = not isinstance(y, str)
            if xm != ym or (not xm and x != y):
                return False
    return True


# ---------------------------------------------------------------------------
# Models.


def build(kind, spec):
    num, cat = spec["numeric"], spec["categorical"]
    if kind == "logreg":
        return Pipeline([
            ("prep", ColumnTransformer([
                ("num", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]), num),
                ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
            ], remainder="drop")),
            ("clf", LogisticRegression(C=1.0, max_iter=1000)),
        ])
    if kind == "logreg_minmax_dropfirst":
        const = spec["constant"]
        return Pipeline([
            ("prep", ColumnTransformer([
                ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]), num),
                ("cat_frequent", Pipeline([
                    ("impute", SimpleImputer(strategy="most_frequent")),
                    ("onehot", OneHotEncoder(drop="first", handle_unknown="ignore")),
                ]), spec["most_frequent"]),
                ("cat_constant", Pipeline([
                    ("impute", SimpleImputer(strategy="constant", fill_value=const["fill_value"])),
                    ("onehot", OneHotEncoder(drop="first", handle_unknown="ignore")),
                ]), [const["column"]]),
            ], remainder="drop")),
            ("clf", LogisticRegression(C=1.0, max_iter=1000)),
        ])
    if kind == "logreg_passthrough":
        scaled = [c for c in num if c not in spec["passthrough"]]
        return Pipeline([
            ("prep", ColumnTransformer([
                ("num", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]), scaled),
                ("cat", OneHotEncoder(drop="if_binary", handle_unknown="ignore"), cat),
            ], remainder="passthrough")),
            ("clf", LogisticRegression(C=1.0, max_iter=1000)),
        ])
    if kind == "gbc":
        return Pipeline([
            ("prep", ColumnTransformer([
                ("num", SimpleImputer(strategy="median"), num),
                ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
            ])),
            ("clf", GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)),
        ])
    if kind == "hgbc":
        return HistGradientBoostingClassifier(max_iter=50, random_state=0)
    if kind == "hgbc_categorical":
        mask = [True] * len(cat) + [False] * len(num)
        return Pipeline([
            ("prep", ColumnTransformer([
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                       encoded_missing_value=np.nan), cat),
                ("num", "passthrough", num),
            ])),
            ("clf", HistGradientBoostingClassifier(max_iter=50, random_state=0, categorical_features=mask)),
        ])
    if kind in PERIOD_KINDS:
        return build_period(kind, spec)
    if kind == "logreg_matrix":
        return LogisticRegression(C=1.0, max_iter=1000)
    if kind == "scaler_matrix":
        return StandardScaler()
    raise ValueError(kind)


def build_period(kind, spec):
    """The pipelines whose period column a categorical encoder reads."""
    period, cat = spec["period"], spec["categorical"]
    others = [c for c in spec["numeric"] if c != period]

    def scaled():
        return Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())])

    if kind in ("logreg_period_onehot", "logreg_period_text"):
        # The reference stack's layout (its train.py), with an imputer.
        parts = [("num", scaled(), others), ("cat", OneHotEncoder(handle_unknown="ignore"), cat + [period])]
    elif kind == "logreg_period_onehot_error":
        parts = [("num", scaled(), others), ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
                 ("period", OneHotEncoder(drop="first", handle_unknown="error"), [period])]
    elif kind == "logreg_period_ordinal_error":
        parts = [("num", scaled(), others), ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
                 ("period", OrdinalEncoder(), [period])]
    elif kind == "hgbc_period_ordinal":
        encoded = cat + [period]
        mask = [True] * len(encoded) + [False] * len(others)
        return Pipeline([
            ("prep", ColumnTransformer([
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                       encoded_missing_value=np.nan), encoded),
                ("num", "passthrough", others),
            ])),
            ("clf", HistGradientBoostingClassifier(max_iter=50, random_state=0, categorical_features=mask)),
        ])
    else:
        raise ValueError(kind)
    return Pipeline([("prep", ColumnTransformer(parts, remainder="drop")),
                     ("clf", LogisticRegression(C=1.0, max_iter=1000))])


def describe(kind, spec):
    num, cat = ", ".join(spec["numeric"]), ", ".join(spec["categorical"])
    if kind == "logreg":
        return ("Pipeline: ColumnTransformer(num [%s]: SimpleImputer(mean) + StandardScaler; cat [%s]: "
                "OneHotEncoder(handle_unknown=ignore); remainder=drop) + LogisticRegression(C=1, lbfgs)" % (num, cat))
    if kind == "logreg_minmax_dropfirst":
        const = spec["constant"]
        return ("Pipeline: ColumnTransformer(num [%s]: SimpleImputer(median) + MinMaxScaler; cat_frequent [%s]: "
                "SimpleImputer(most_frequent) + OneHotEncoder(drop=first, handle_unknown=ignore); cat_constant [%s]: "
                "SimpleImputer(constant, fill_value=%r) + OneHotEncoder(drop=first, handle_unknown=ignore); "
                "remainder=drop) + LogisticRegression(C=1, lbfgs)"
                % (num, ", ".join(spec["most_frequent"]), const["column"], const["fill_value"]))
    if kind == "logreg_passthrough":
        scaled = [c for c in spec["numeric"] if c not in spec["passthrough"]]
        return ("Pipeline: ColumnTransformer(num [%s]: SimpleImputer(mean) + StandardScaler; cat [%s]: "
                "OneHotEncoder(drop=if_binary, handle_unknown=ignore); remainder=passthrough, i.e. [%s] "
                "unscaled) + LogisticRegression(C=1, lbfgs)" % (", ".join(scaled), cat, ", ".join(spec["passthrough"])))
    if kind == "gbc":
        return ("Pipeline: ColumnTransformer(num [%s]: SimpleImputer(median); cat [%s]: "
                "OneHotEncoder(handle_unknown=ignore)) + GradientBoostingClassifier(n_estimators=50, "
                "max_depth=3, random_state=0)" % (num, cat))
    if kind == "hgbc":
        return ("HistGradientBoostingClassifier(max_iter=50, random_state=0) alone, fitted on a DataFrame of the "
                "numeric columns [%s] with missing values left in" % num)
    if kind == "hgbc_categorical":
        return ("Pipeline: ColumnTransformer(cat [%s]: OrdinalEncoder(handle_unknown=use_encoded_value, "
                "unknown_value=nan, encoded_missing_value=nan); num [%s]: passthrough) + "
                "HistGradientBoostingClassifier(max_iter=50, random_state=0, categorical_features=boolean mask "
                "true for the %d ordinal-encoded columns)" % (cat, num, len(spec["categorical"])))
    if kind in PERIOD_KINDS:
        period = spec["period"]
        others = ", ".join(c for c in spec["numeric"] if c != period)
        num_part = "num [%s]: SimpleImputer(mean) + StandardScaler" % others
        if kind in ("logreg_period_onehot", "logreg_period_text"):
            text = (", the period fitted as strings (\"1\", \"2\", ...)" if kind == "logreg_period_text" else "")
            return ("Pipeline: ColumnTransformer(%s; cat [%s, %s]: OneHotEncoder(handle_unknown=ignore); "
                    "remainder=drop) + LogisticRegression(C=1, lbfgs)%s" % (num_part, cat, period, text))
        if kind == "logreg_period_onehot_error":
            return ("Pipeline: ColumnTransformer(%s; cat [%s]: OneHotEncoder(handle_unknown=ignore); period [%s]: "
                    "OneHotEncoder(drop=first, handle_unknown=error); remainder=drop) + LogisticRegression(C=1, lbfgs)"
                    % (num_part, cat, period))
        if kind == "logreg_period_ordinal_error":
            return ("Pipeline: ColumnTransformer(%s; cat [%s]: OneHotEncoder(handle_unknown=ignore); period [%s]: "
                    "OrdinalEncoder(handle_unknown=error); remainder=drop) + LogisticRegression(C=1, lbfgs)"
                    % (num_part, cat, period))
        return ("Pipeline: ColumnTransformer(cat [%s, %s]: OrdinalEncoder(handle_unknown=use_encoded_value, "
                "unknown_value=nan, encoded_missing_value=nan); num [%s]: passthrough) + "
                "HistGradientBoostingClassifier(max_iter=50, random_state=0, categorical_features=boolean mask true "
                "for the ordinal-encoded columns, the period among them)" % (cat, period, others))
    if kind == "logreg_matrix":
        return ("LogisticRegression(C=1, lbfgs) alone, fitted on a float64 ndarray (no column names; inputs "
                "x0..x%d are [%s])" % (len(spec["matrix"]) - 1, ", ".join(spec["matrix"])))
    if kind == "scaler_matrix":
        return ("StandardScaler alone, fitted on the same float64 ndarray as logreg_matrix; no probabilities, "
                "\"transform\" holds its output on the held-out matrix rows")
    raise ValueError(kind)


def input_columns(kind, spec):
    if kind in ("logreg_matrix", "scaler_matrix"):
        return [{"name": "x%d" % i, "type": "numeric"} for i in range(len(spec["matrix"]))]
    cols = [{"name": c, "type": "categorical" if kind == TEXT_PERIOD_KIND and c == spec["period"] else "numeric"}
            for c in spec["numeric"]]
    if kind != "hgbc":
        cols += [{"name": c, "type": "categorical"} for c in spec["categorical"]]
    return cols


# ---------------------------------------------------------------------------
# Serialisation.


def dump_formats(model, out_dir, case):
    """Writes model in every pickle and joblib format; returns {format: file}."""
    files = {}
    for protocol in PICKLE_PROTOCOLS:
        name = "%s.p%d.pkl" % (case, protocol)
        with open(os.path.join(out_dir, name), "wb") as f:
            pickle.dump(model, f, protocol=protocol)
        files["p%d" % protocol] = name
    name = "%s.joblib" % case
    joblib.dump(model, os.path.join(out_dir, name))
    files["joblib"] = name
    name = "%s.zlib.joblib" % case
    joblib.dump(model, os.path.join(out_dir, name), compress=JOBLIB_ZLIB)
    files["joblib_zlib"] = name
    return files


def load_file(path):
    """Loads one of the files written above (never a hostile one)."""
    if path.endswith(".joblib"):
        return joblib.load(path)
    with open(path, "rb") as f:
        return pickle.load(f)


def mlflow_signature_type(series):
    """mlflow.models.infer_signature's column type for a pandas column."""
    if series.dtype == np.int64:
        return "long"
    if series.dtype == np.float64:
        return "double"
    if series.dtype == object:
        check(all(isinstance(v, str) for v in series), "a string column with non-string values")
        return "string"
    raise CheckFailed("no MLflow type for dtype %s" % series.dtype)


def write_mlflow_dir(model, path, x_train, example):
    """An MLflow model directory as MLflow 2.9.2's mlflow.sklearn.save_model(
    model, path, serialization_format="pickle", signature=infer_signature(
    x_train, model.predict(x_train)), input_example=example) writes it."""
    os.makedirs(path)
    python_version = platform.python_version()

    # model.pkl: mlflow.sklearn._save_model calls pickle.dump(sk_model, out),
    # i.e. pickle.DEFAULT_PROTOCOL (4 on Python 3.8 to 3.13).
    with open(os.path.join(path, "model.pkl"), "wb") as f:
        pickle.dump(model, f)

    # input_example.json: the DataFrame in pandas' "split" orient without
    # the index, written with json.dump's default separators.
    example_json = {"columns": list(example.columns),
                    "data": [[v.item() if isinstance(v, np.generic) else v for v in row]
                             for row in example.itertuples(index=False, name=None)]}
    for row in example_json["data"]:
        for v in row:
            check(not (isinstance(v, float) and math.isnan(v)), "the input example has a missing value")
    with open(os.path.join(path, "input_example.json"), "w") as f:
        json.dump(example_json, f)

    inputs = [{"type": mlflow_signature_type(x_train[c]), "name": c, "required": True} for c in x_train.columns]
    predicted = model.predict(x_train.iloc[:5])
    check(predicted.dtype == np.int64 and predicted.ndim == 1, "predict does not return int64 labels")
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]

    mlmodel = {
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": "model.pkl",
                "predict_fn": "predict",
                "python_version": python_version,
            },
            "sklearn": {
                "code": None,
                "pickled_model": "model.pkl",
                "serialization_format": "pickle",
                "sklearn_version": sklearn.__version__,
            },
        },
        "mlflow_version": MLFLOW_VERSION,
        "model_uuid": uuid.uuid5(MLFLOW_UUID_NAMESPACE, "caresignal/testdata/sklearn/" +
                                 os.path.basename(path)).hex,
        "saved_input_example_info": {"artifact_path": "input_example.json", "pandas_orient": "split",
                                     "type": "dataframe"},
        "signature": {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None},
        "utc_time_created": MLFLOW_TIME_CREATED,
    }
    # Model.save: yaml.safe_dump(self.to_dict(), default_flow_style=False)
    # (keys sorted, long strings folded at 80 columns as PyYAML does).
    with open(os.path.join(path, "MLmodel"), "w") as f:
        yaml.safe_dump(mlmodel, stream=f, default_flow_style=False)

    requirements = ["mlflow==%s" % MLFLOW_VERSION]
    for pkg in ("numpy", "scikit-learn", "scipy"):
        requirements.append("%s==%s" % (pkg, package_version(pkg)))
    pip_version = package_version("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": ["python=%s" % python_version,
                         "pip<=%s" % pip_version if pip_version else "pip",
                         {"pip": requirements}],
        "name": "mlflow-env",
    }
    with open(os.path.join(path, "conda.yaml"), "w") as f:
        yaml.safe_dump(conda, stream=f, default_flow_style=False)
    with open(os.path.join(path, "requirements.txt"), "w") as f:
        f.write("\n".join(requirements))
    build = []
    for pkg in ("pip", "setuptools", "wheel"):
        v = package_version(pkg)
        build.append("%s==%s" % (pkg, v) if v else pkg)
    python_env = {"python": python_version, "build_dependencies": build, "dependencies": ["-r requirements.txt"]}
    with open(os.path.join(path, "python_env.yaml"), "w") as f:
        yaml.safe_dump(python_env, stream=f, sort_keys=False)


# ---------------------------------------------------------------------------
# Cases.


def proba1(model, x):
    p = model.predict_proba(x)
    check(list(model.classes_) == [0, 1], "classes are not [0, 1]")
    return p[:, 1]


def json_dump(obj, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def beyond_rows(heldout, spec, periods):
    """The first complete row of each of the first three held-out subjects,
    with the period set to BEYOND_OFFSETS after the last period of training,
    and to the first period within that range missing from training, if any."""
    names = spec["numeric"] + spec["categorical"]
    first = heldout.dropna(subset=names).drop_duplicates(subset=spec["id"]).iloc[:3]
    check(len(first) == 3, "fewer than three complete held-out subjects")
    targets = [periods[-1] + k for k in BEYOND_OFFSETS]
    gaps = sorted(set(range(1, periods[-1] + 1)) - set(periods))
    targets += gaps[:1]
    rows = []
    for _, row in first.iterrows():
        for t in targets:
            r = row.copy()
            r[spec["period"]] = t
            rows.append(r)
    out = pd.DataFrame(rows).reset_index(drop=True)
    out[spec["period"]] = out[spec["period"]].astype(np.int64)
    return out


def period_as_text(x, period):
    """x with its period column as strings ("1", "2", …)."""
    x = x.copy()
    x[period] = x[period].astype(np.int64).astype(str).astype(object)
    return x


def score_beyond(model, kind, x, files):
    """predict_proba on rows whose period the encoder was not fitted on, or,
    for a refusing encoder, the error scikit-learn raises for each row alone.
    Every written file must do the same."""
    if kind in REFUSING_KINDS:
        messages = []
        for i in range(len(x)):
            for m in [model] + [load_file(f) for f in files]:
                try:
                    proba1(m, x.iloc[[i]])
                except ValueError as e:
                    if m is model:
                        messages.append(str(e))
                    continue
                raise CheckFailed("%s scored beyond row %d" % (kind, i))
        return {"refused": messages}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found unknown categories")
        result = proba1(model, x)
        check(np.isfinite(result).all(), "%s: non-finite output beyond the periods" % kind)
        for f in files:
            check(np.array_equal(proba1(load_file(f), x), result), "%s: %s differs beyond the periods" % (kind, f))
    return {"proba": [float(v) for v in result]}


def make_dataset(dataset, df, out_dir, versions):
    spec = DATASETS[dataset]
    id_col, num, cat = spec["id"], spec["numeric"], spec["categorical"]
    train, heldout = split(dataset, df)
    n_real = len(heldout)
    edits = edited_rows(dataset, df, heldout)
    heldout_all = pd.concat([heldout, edits], ignore_index=True)

    heldout_file = "%s_heldout.csv" % dataset
    write_csv(os.path.join(out_dir, heldout_file), heldout_all, id_col, num, cat)
    back = read_csv(os.path.join(out_dir, heldout_file), id_col, num, cat)
    check(same_frame(back, heldout_all, num, cat), "%s does not read back as written" % heldout_file)
    edited = list(range(n_real, len(back)))

    # The plain matrix: the unedited held-out rows, columns x0, x1, …
    matrix_file = "%s_matrix_heldout.csv" % dataset
    xnames = ["x%d" % i for i in range(len(spec["matrix"]))]
    mframe = pd.DataFrame({id_col: heldout[id_col]})
    for xn, col in zip(xnames, spec["matrix"]):
        mframe[xn] = heldout[col].astype(np.float64)
    write_csv(os.path.join(out_dir, matrix_file), mframe, id_col, xnames, [])
    mback = read_csv(os.path.join(out_dir, matrix_file), id_col, xnames, [])
    check(same_frame(mback, mframe, xnames, []), "%s does not read back as written" % matrix_file)
    x_matrix_train = train[spec["matrix"]].to_numpy(np.float64)
    x_matrix_heldout = mback[xnames].to_numpy(np.float64)
    check(not np.isnan(x_matrix_train).any() and not np.isnan(x_matrix_heldout).any(),
          "%s: missing values in the matrix columns" % dataset)

    # The period kinds' extra rows: periods their encoder was not fitted on.
    period = spec["period"]
    periods = sorted(int(v) for v in set(train[period]))
    check(set(int(v) for v in heldout[period]) <= set(periods), "%s: held-out periods unseen in training" % dataset)
    beyond_file = "%s_period_beyond.csv" % dataset
    beyond = beyond_rows(heldout, spec, periods)
    write_csv(os.path.join(out_dir, beyond_file), beyond, id_col, num, cat)
    bback = read_csv(os.path.join(out_dir, beyond_file), id_col, num, cat)
    check(same_frame(bback, beyond, num, cat), "%s does not read back as written" % beyond_file)

    y = train["event"].to_numpy(np.int64)
    written = []
    summary = []
    for kind in KINDS:
        case = "%s_%s" % (dataset, kind)
        columns = input_columns(kind, spec)
        names = [c["name"] for c in columns]
        model = build(kind, spec)
        if kind in ("logreg_matrix", "scaler_matrix"):
            x_train, x_score, x_alt = x_matrix_train, x_matrix_heldout, None
            hfile = matrix_file
        else:
            x_train = train[names]
            x_score = back[names]
            # The same rows with the period column as int64, as in training:
            # scikit-learn must not see a difference.
            x_alt = x_score.copy()
            x_alt[spec["period"]] = x_alt[spec["period"]].astype(np.int64)
            hfile = heldout_file
            if kind == TEXT_PERIOD_KIND:
                x_train, x_score, x_alt = period_as_text(x_train, period), period_as_text(x_score, period), None
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            if kind == "scaler_matrix":
                model.fit(x_train)
            else:
                model.fit(x_train, y)

        # Serialise right after fitting, before any prediction.
        files = dump_formats(model, out_dir, case)
        if kind in MLFLOW_KINDS:
            mdir = "%s.mlflow" % case
            # The first complete row of each of the first three held-out subjects.
            first = back.iloc[:n_real].dropna(subset=names).drop_duplicates(subset=id_col)
            example = first[names].iloc[:3].reset_index(drop=True)
            example[spec["period"]] = example[spec["period"]].astype(np.int64)
            write_mlflow_dir(model, os.path.join(out_dir, mdir), x_train, example)
            files["mlflow"] = mdir

        if kind in ("logreg_matrix", "scaler_matrix"):
            check(not hasattr(model, "feature_names_in_") and model.n_features_in_ == len(names),
                  "%s: fitted on names" % case)
        else:
            check(list(model.feature_names_in_) == names, "%s: feature_names_in_ differ" % case)

        with warnings.catch_warnings():
            # Unknown levels in the edited rows: encoded as all zeros, as meant.
            warnings.filterwarnings("ignore", message="Found unknown categories")
            if kind == "scaler_matrix":
                result = model.transform(x_score)
            else:
                result = proba1(model, x_score)
                if x_alt is not None:
                    check(np.array_equal(result, proba1(model, x_alt)), "%s: int64 period changes the result" % case)
            check(np.isfinite(result).all(), "%s: non-finite output" % case)
            paths = [files[k] for k in files if k != "mlflow"]
            if "mlflow" in files:
                paths.append(os.path.join(files["mlflow"], "model.pkl"))
            for name in paths:
                loaded = load_file(os.path.join(out_dir, name))
                again = loaded.transform(x_score) if kind == "scaler_matrix" else proba1(loaded, x_score)
                check(np.array_equal(again, result), "%s: %s does not reproduce the predictions" % (case, name))

        if kind in PERIOD_KINDS:
            x_beyond = bback[names]
            if kind == TEXT_PERIOD_KIND:
                x_beyond = period_as_text(x_beyond, period)
            beyond_out = score_beyond(model, kind, x_beyond, [os.path.join(out_dir, p) for p in paths])
            beyond_out = dict({"heldout": beyond_file, "period_levels": periods}, **beyond_out)

        out = {
            "case": case,
            "dataset": dataset,
            "kind": kind,
            "sklearn_version": sklearn.__version__,
            "numpy_version": np.__version__,
            "joblib_version": joblib.__version__,
            "python_version": platform.python_version(),
            "period_column": spec["period"] if kind not in ("logreg_matrix", "scaler_matrix")
            else "x%d" % spec["matrix"].index(spec["period"]),
            "input_columns": columns,
            "files": files,
            "heldout": hfile,
            "heldout_rows": len(x_score),
            "edited_rows": edited if hfile == heldout_file else [],
        }
        if kind in ("logreg_matrix", "scaler_matrix"):
            out["matrix_columns"] = {xn: col for xn, col in zip(xnames, spec["matrix"])}
        if kind in PERIOD_KINDS:
            out["beyond"] = beyond_out
        if kind == "scaler_matrix":
            out["transform"] = [[float(v) for v in row] for row in result]
        else:
            out["proba"] = [float(v) for v in result]
            out["classes"] = [int(c) for c in model.classes_]
        out["description"] = describe(kind, spec)
        json_dump(out, os.path.join(out_dir, case + ".json"))
        written.append(case + ".json")
        final = model.steps[-1][1] if isinstance(model, Pipeline) else model
        n_iter = getattr(final, "n_iter_", getattr(final, "n_estimators_", None))
        summary.append("%-34s %s" % (case, "" if n_iter is None else "iterations %s" % np.ravel(n_iter)[0]))
    for line in summary:
        print("  " + line)
    print("  %s: %d training rows (%d subjects), %d held-out rows (%d subjects) + %d edited"
          % (dataset, len(train), train[id_col].nunique(), n_real, heldout[id_col].nunique(), len(edited)))
    return written, [heldout_file, matrix_file, beyond_file], {
        "training_rows": len(train), "training_subjects": int(train[id_col].nunique()),
        "heldout_rows": n_real, "heldout_subjects": int(heldout[id_col].nunique()),
        "edited_rows": edited, "training_events": int(train["event"].sum()),
    }


# ---------------------------------------------------------------------------
# The reference stack's own model: what its train.py pickled, as it is.

ANCHOR_NUMERIC = ["month", "age", "baseline_score", "prior_no_shows", "sessions_last_month",
                  "days_since_last_session", "messages_last_month"]
ANCHOR_CATEGORICAL = ["sex", "program", "channel", "enrolled_via"]


def make_anchor(out_dir, anchor_dir):
    """anchor_dir is a copy of the flask-sklearn stack in which generate.sh ran
    gen_data.py and train.py (model.pkl, model.joblib) and, in heldout/,
    gen_data.py with another seed: its person-period rows are the held-out
    rows, and the first three patients' first rows again with months after
    the last one of training the beyond rows."""
    case = "anchor_flask"
    files = {}
    for key, src, name in (("p5", "model.pkl", case + ".pkl"), ("joblib", "model.joblib", case + ".joblib")):
        with open(os.path.join(anchor_dir, src), "rb") as f:
            data = f.read()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        files[key] = name
    model = load_file(os.path.join(out_dir, files["p5"]))
    names = list(model.feature_names_in_)
    check(sorted(names) == sorted(ANCHOR_NUMERIC + ANCHOR_CATEGORICAL), "the anchor's inputs are %s" % names)
    enc = model.named_steps["pre"].named_transformers_["cat"]
    periods = [int(v) for v in enc.categories_[list(enc.feature_names_in_).index("month")]]

    pp = pd.read_csv(os.path.join(anchor_dir, "heldout", "person_period.csv"), dtype={"patient_id": str})
    heldout_file = "anchor_flask_heldout.csv"
    write_csv(os.path.join(out_dir, heldout_file), pp, "patient_id", ANCHOR_NUMERIC, ANCHOR_CATEGORICAL)
    back = read_csv(os.path.join(out_dir, heldout_file), "patient_id", ANCHOR_NUMERIC, ANCHOR_CATEGORICAL)
    check(same_frame(back, pp, ANCHOR_NUMERIC, ANCHOR_CATEGORICAL), "%s does not read back as written" % heldout_file)
    check(set(int(v) for v in back["month"]) <= set(periods), "anchor: held-out months unseen in training")

    spec = {"id": "patient_id", "period": "month", "numeric": ANCHOR_NUMERIC, "categorical": ANCHOR_CATEGORICAL}
    beyond_file = "anchor_flask_period_beyond.csv"
    beyond = beyond_rows(pp, spec, periods)
    write_csv(os.path.join(out_dir, beyond_file), beyond, "patient_id", ANCHOR_NUMERIC, ANCHOR_CATEGORICAL)
    bback = read_csv(os.path.join(out_dir, beyond_file), "patient_id", ANCHOR_NUMERIC, ANCHOR_CATEGORICAL)
    check(same_frame(bback, beyond, ANCHOR_NUMERIC, ANCHOR_CATEGORICAL), "%s does not read back as written" % beyond_file)

    x = back[names]
    result = proba1(model, x)
    alt = x.copy()
    alt["month"] = alt["month"].astype(np.int64)
    check(np.array_equal(result, proba1(model, alt)), "anchor: int64 month changes the result")
    check(np.array_equal(result, proba1(load_file(os.path.join(out_dir, files["joblib"])), x)),
          "anchor: model.joblib differs from model.pkl")
    beyond_out = score_beyond(model, "anchor", bback[names], [os.path.join(out_dir, files["joblib"])])

    sources = {}
    for name in ("gen_data.py", "scoring.py", "train.py"):
        with open(os.path.join(anchor_dir, name), "rb") as f:
            sources[name] = hashlib.sha256(f.read()).hexdigest()
    types = {c: "numeric" for c in ANCHOR_NUMERIC}
    types.update({c: "categorical" for c in ANCHOR_CATEGORICAL})
    out = {
        "case": case,
        "dataset": "anchor",
        "kind": "flask",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "joblib_version": joblib.__version__,
        "python_version": platform.python_version(),
        "period_column": "month",
        "input_columns": [{"name": n, "type": types[n]} for n in names],
        "files": files,
        "heldout": heldout_file,
        "heldout_rows": len(x),
        "edited_rows": [],
        "proba": [float(v) for v in result],
        "classes": [int(c) for c in model.classes_],
        "beyond": dict({"heldout": beyond_file, "period_levels": periods}, **beyond_out),
        "anchor_sources_sha256": sources,
        "description": ("the flask-sklearn reference stack's own model, as its train.py pickles it (model.pkl, "
                        "protocol 5; model.joblib): Pipeline(pre=ColumnTransformer(num: StandardScaler on the "
                        "numeric features; cat: OneHotEncoder(handle_unknown=ignore) on the categorical features "
                        "and month), clf=LogisticRegression(lbfgs, C=1, max_iter=5000)), fitted on its gen_data.py "
                        "cohort (20,000 patients, seed 42); held-out rows: gen_data.py --n-patients 40 --seed 7"),
    }
    json_dump(out, os.path.join(out_dir, case + ".json"))
    print("  %-34s %d held-out rows, months %d-%d" % (case, len(x), periods[0], periods[-1]))
    return case + ".json", [heldout_file, beyond_file], {"heldout_rows": len(x),
                                                         "heldout_subjects": int(pp["patient_id"].nunique())}


# ---------------------------------------------------------------------------
# Hostile files. None of them is ever loaded here.


class OsSystem:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class BuiltinsEval:
    def __reduce__(self):
        import builtins
        return (builtins.eval, ("1+1",))


class SubprocessPopen:
    def __reduce__(self):
        return (subprocess.Popen, (["true"],))


HOSTILE = {}


def hostile(name, description):
    def register(fn):
        HOSTILE[name] = (fn, description)
        return fn
    return register


@hostile("os_system.p2.pkl", "an object whose __reduce__ is (os.system, ('echo pwned',)), pickle protocol 2; "
         "on Linux pickle names the function posix.system (GLOBAL 'posix system')")
def _os_system_p2(ctx):
    return pickle.dumps(OsSystem(), protocol=2)


@hostile("os_system.p4.pkl", "the same with protocol 4 (STACK_GLOBAL 'posix' 'system')")
def _os_system_p4(ctx):
    return pickle.dumps(OsSystem(), protocol=4)


@hostile("os_system_global.pkl", "hand-written: PROTO 2, GLOBAL 'os system' (the module name a hand-made "
         "gadget uses), BINUNICODE 'echo pwned', TUPLE1, REDUCE, STOP")
def _os_system_global(ctx):
    arg = b"echo pwned"
    data = b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85R."
    check(list(op.name for op, _, _ in pickletools.genops(data)) ==
          ["PROTO", "GLOBAL", "BINUNICODE", "TUPLE1", "REDUCE", "STOP"], "os_system_global.pkl is malformed")
    return data


@hostile("builtins_eval.pkl", "__reduce__ is (builtins.eval, ('1+1',)), protocol 4 (STACK_GLOBAL 'builtins' 'eval')")
def _builtins_eval(ctx):
    return pickle.dumps(BuiltinsEval(), protocol=4)


@hostile("subprocess_popen.pkl", "__reduce__ is (subprocess.Popen, (['true'],)), protocol 4")
def _subprocess_popen(ctx):
    return pickle.dumps(SubprocessPopen(), protocol=4)


@hostile("nested_in_pipeline.pkl", "lung_logreg with the StandardScaler inside the ColumnTransformer's numeric "
         "Pipeline (transformers_[0][1].steps[1]) replaced by the os.system gadget; everything else is the "
         "real fitted pipeline, protocol 4")
def _nested_in_pipeline(ctx):
    model = copy.deepcopy(ctx["lung_logreg"])
    inner = model.named_steps["prep"].transformers_[0][1]
    check(inner.steps[1][0] == "scale", "unexpected lung_logreg layout")
    inner.steps[1] = ("scale", OsSystem())
    data = pickle.dumps(model, protocol=4)
    check(b"posix" in data and b"system" in data and b"sklearn.pipeline" in data, "gadget not in the pickle")
    return data


@hostile("huge_length.pkl", "PROTO 4, BINBYTES8 claiming 2^40 bytes, then 3 bytes and the end of the file")
def _huge_length(ctx):
    return b"\x80\x04" + b"\x8e" + struct.pack("<Q", 2**40) + b"abc"


@hostile("huge_frame.pkl", "PROTO 4, FRAME claiming 2^40 bytes, then NONE, STOP and the end of the file")
def _huge_frame(ctx):
    return b"\x80\x04" + b"\x95" + struct.pack("<Q", 2**40) + b"N."


@hostile("huge_unicode.pkl", "PROTO 4, BINUNICODE8 claiming 2^40 bytes, then 3 bytes and the end of the file")
def _huge_unicode(ctx):
    return b"\x80\x04" + b"\x8d" + struct.pack("<Q", 2**40) + b"abc"


@hostile("deep_nesting.pkl", "PROTO 2, 100,000 EMPTY_LIST, 99,999 APPEND, STOP: a list nested 100,000 deep "
         "(a valid pickle; Python loads it)")
def _deep_nesting(ctx):
    return b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"."


@hostile("deep_marks.pkl", "PROTO 2, EMPTY_LIST, 100,000 times MARK EMPTY_LIST, 100,000 APPENDS, STOP: "
         "100,000 open marks at once, and again a list nested 100,000 deep (valid; Python loads it)")
def _deep_marks(ctx):
    # ] (] (] ... e e e: each APPENDS pops back to its MARK and appends the
    # list above it to the list below it.
    return b"\x80\x02" + b"]" + b"(]" * 100000 + b"e" * 100000 + b"."


@hostile("truncated.pkl", "the first half of lung_logreg_matrix.p4.pkl (a bare LogisticRegression, protocol 4)")
def _truncated(ctx):
    data = pickle.dumps(ctx["lung_logreg_matrix"], protocol=4)
    return data[:len(data) // 2]


ZIP_BOMB_PAYLOAD = 2**30 + 2**20  # bytes of zeros, just over 1 GiB


@hostile("zip_bomb.zlib.joblib", "a zlib stream (what joblib writes for compress='zlib'; it begins 0x78) of "
         "PROTO 4, BINBYTES8 of %d, that many zero bytes and STOP: %d bytes once decompressed; "
         "compressed at level 9" % (ZIP_BOMB_PAYLOAD, ZIP_BOMB_PAYLOAD + 12))
def _zip_bomb(ctx):
    c = zlib.compressobj(9)
    out = io.BytesIO()
    out.write(c.compress(b"\x80\x04\x8e" + struct.pack("<Q", ZIP_BOMB_PAYLOAD)))
    chunk = bytes(2**20)
    for _ in range(ZIP_BOMB_PAYLOAD // len(chunk)):
        out.write(c.compress(chunk))
    out.write(c.compress(b"."))
    out.write(c.flush())
    return out.getvalue()


def write_hostile(out_dir, ctx):
    hdir = os.path.join(out_dir, "hostile")
    os.makedirs(hdir)
    listing = []
    for name, (fn, description) in HOSTILE.items():
        data = fn(ctx)
        with open(os.path.join(hdir, name), "wb") as f:
            f.write(data)
        listing.append({"file": "hostile/" + name, "description": description})
    check(os.path.getsize(os.path.join(hdir, "huge_length.pkl")) <= 32, "huge_length.pkl is over 32 bytes")
    return listing


# ---------------------------------------------------------------------------


def file_listing(out_dir):
    files = []
    for root, dirs, names in os.walk(out_dir):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
            if rel == "manifest.json":
                continue
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            files.append({"file": rel, "bytes": os.path.getsize(path), "sha256": digest})
    files.sort(key=lambda e: e["file"])
    return files


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: make_fixtures.py OUT_DIR LUNG_CSV COHORT_RAW_CSV ANCHOR_RUN_DIR")
    out_dir, lung_csv, cohort_csv, anchor_dir = sys.argv[1:]
    if sklearn.__version__ != EXPECTED_SKLEARN:
        print("make_fixtures.py: warning: scikit-learn %s, not %s" % (sklearn.__version__, EXPECTED_SKLEARN),
              file=sys.stderr)
    check(_openmp_effective_n_threads() == 1, "OpenMP uses more than one thread")
    os.makedirs(out_dir, exist_ok=True)
    versions = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                "joblib": joblib.__version__, "pandas": pd.__version__, "scipy": package_version("scipy")}

    cases, heldouts, datasets = [], [], {}
    for dataset, reader, path in (("lung", read_lung, lung_csv), ("cohort", read_cohort, cohort_csv)):
        print("== %s" % dataset)
        written, hfiles, info = make_dataset(dataset, reader(path), out_dir, versions)
        cases += written
        heldouts += hfiles
        datasets[dataset] = info

    print("== anchor (the flask-sklearn stack's train.py)")
    written, hfiles, info = make_anchor(out_dir, anchor_dir)
    cases.append(written)
    heldouts += hfiles
    datasets["anchor"] = info

    # The hostile files reuse two fitted models; refit them (deterministic)
    # rather than keep them around.
    lung = read_lung(lung_csv)
    train, _ = split("lung", lung)
    spec = DATASETS["lung"]
    y = train["event"].to_numpy(np.int64)
    ctx = {
        "lung_logreg": build("logreg", spec).fit(train[spec["numeric"] + spec["categorical"]], y),
        "lung_logreg_matrix": build("logreg_matrix", spec).fit(train[spec["matrix"]].to_numpy(np.float64), y),
    }
    with open(os.path.join(out_dir, "lung_logreg_matrix.p4.pkl"), "rb") as f:
        check(f.read() == pickle.dumps(ctx["lung_logreg_matrix"], protocol=4), "refit differs")
    print("== hostile files")
    hostile_files = write_hostile(out_dir, ctx)

    manifest = {
        "generator": "scripts/sklearn/generate.sh",
        "versions": versions,
        "mlflow_layout_version": MLFLOW_VERSION,
        "datasets": datasets,
        "cases": sorted(cases),
        "heldout": sorted(heldouts),
        "hostile": hostile_files,
        "files": file_listing(out_dir),
    }
    json_dump(manifest, os.path.join(out_dir, "manifest.json"))


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as e:
        print("make_fixtures.py: check failed: %s" % e, file=sys.stderr)
        sys.exit(1)
