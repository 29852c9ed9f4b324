"""Training: one YAML configuration → optimiser + schedule, multi-dataset schemes (XB-Net's Mix,
Seq, Fix, Shu, Cho, Acc), whole-image validation, ``best.pt`` / ``last.pt`` checkpoints, resume.

>>> from microseg.train import train, train_config
>>> result = train(train_config("configs/dsb2018_unet.yaml"), out="runs/dsb")  # doctest: +SKIP
>>> result.best, result.best_score                                              # doctest: +SKIP
"""
from microseg.train.batches import BatchStream, collate
from microseg.train.config import (
    EarlyStoppingConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    PostConfig,
    TargetConfig,
    TrainConfig,
    ValidationConfig,
    expand_data_root,
    train_config,
)
from microseg.train.schedule import LRSchedule, ScheduleConfig
from microseg.train.schemes import SCHEMES, Scheme, SchemeConfig
from microseg.train.step import Batch, StepResult, accumulate_gradients, optimiser_step
from microseg.train.trainer import Datasets, Trainer, TrainResult, load_datasets, train

__all__ = [
    "SCHEMES",
    "Batch",
    "BatchStream",
    "Datasets",
    "EarlyStoppingConfig",
    "LRSchedule",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PostConfig",
    "ScheduleConfig",
    "Scheme",
    "SchemeConfig",
    "StepResult",
    "TargetConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "ValidationConfig",
    "accumulate_gradients",
    "collate",
    "expand_data_root",
    "load_datasets",
    "optimiser_step",
    "train",
    "train_config",
]
