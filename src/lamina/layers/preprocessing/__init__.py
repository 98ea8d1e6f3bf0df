"""Preprocessing layers: numeric and categorical features (normalization, discretization,
category encoding); image rescaling, resizing and random augmentation."""

from lamina.layers.preprocessing.aug_mix import AugMix as AugMix
from lamina.layers.preprocessing.category_encoding import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing.center_crop import CenterCrop as CenterCrop
from lamina.layers.preprocessing.color_blend import (
    RandomColorDegeneration as RandomColorDegeneration,
)
from lamina.layers.preprocessing.color_blend import RandomGrayscale as RandomGrayscale
from lamina.layers.preprocessing.color_blend import RandomSharpness as RandomSharpness
from lamina.layers.preprocessing.color_jitter import RandomBrightness as RandomBrightness
from lamina.layers.preprocessing.color_jitter import RandomColorJitter as RandomColorJitter
from lamina.layers.preprocessing.color_jitter import RandomContrast as RandomContrast
from lamina.layers.preprocessing.color_jitter import RandomHue as RandomHue
from lamina.layers.preprocessing.color_jitter import RandomSaturation as RandomSaturation
from lamina.layers.preprocessing.cut_mix import CutMix as CutMix
from lamina.layers.preprocessing.discretization import Discretization as Discretization
from lamina.layers.preprocessing.hashed_crossing import HashedCrossing as HashedCrossing
from lamina.layers.preprocessing.hashing import Hashing as Hashing
from lamina.layers.preprocessing.integer_lookup import IntegerLookup as IntegerLookup
from lamina.layers.preprocessing.intensity import AutoContrast as AutoContrast
from lamina.layers.preprocessing.intensity import Equalization as Equalization
from lamina.layers.preprocessing.intensity import RandomInvert as RandomInvert
from lamina.layers.preprocessing.intensity import RandomPosterization as RandomPosterization
from lamina.layers.preprocessing.intensity import Solarization as Solarization
from lamina.layers.preprocessing.max_num_bounding_boxes import (
    MaxNumBoundingBoxes as MaxNumBoundingBoxes,
)
from lamina.layers.preprocessing.mel_spectrogram import MelSpectrogram as MelSpectrogram
from lamina.layers.preprocessing.mix_up import MixUp as MixUp
from lamina.layers.preprocessing.normalization import Normalization as Normalization
from lamina.layers.preprocessing.pipeline import Pipeline as Pipeline
from lamina.layers.preprocessing.rand_augment import RandAugment as RandAugment
from lamina.layers.preprocessing.random_crop import RandomCrop as RandomCrop
from lamina.layers.preprocessing.random_elastic_transform import (
    RandomElasticTransform as RandomElasticTransform,
)
from lamina.layers.preprocessing.random_erasing import RandomErasing as RandomErasing
from lamina.layers.preprocessing.random_flip import RandomFlip as RandomFlip
from lamina.layers.preprocessing.random_gaussian_blur import (
    RandomGaussianBlur as RandomGaussianBlur,
)
from lamina.layers.preprocessing.random_perspective import RandomPerspective as RandomPerspective
from lamina.layers.preprocessing.random_rotation import RandomRotation as RandomRotation
from lamina.layers.preprocessing.random_shear import RandomShear as RandomShear
from lamina.layers.preprocessing.random_translation import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.random_zoom import RandomZoom as RandomZoom
from lamina.layers.preprocessing.rescaling import Rescaling as Rescaling
from lamina.layers.preprocessing.resizing import Resizing as Resizing
from lamina.layers.preprocessing.stft_spectrogram import STFTSpectrogram as STFTSpectrogram
from lamina.layers.preprocessing.string_lookup import StringLookup as StringLookup
from lamina.layers.preprocessing.text_vectorization import (
    TextVectorization as TextVectorization,
)
