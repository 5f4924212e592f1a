"""One training iteration of a ``GAN``, as functions of the model.

``GAN.train_step`` runs :func:`discriminator_step` ``discriminator_steps`` times and then
:func:`generator_step` (or :func:`shared_pass_step` with ``reuse_fakes=True``), then
:func:`update_ema`. Each step goes through the model's hooks (``make_fakes``, ``augment``,
``discriminate``, ``compute_*_loss``) and its wrapped optimizers
(``gan.wrapped_*_optimizer``: loss scaling and the device's wrappers).
"""

from __future__ import annotations

import tensorflow as tf

from ascendgan import regularizers
from ascendgan.strategy import loss_scale_logs


def discriminator_step(gan, real, condition, fakes=None):
    """One discriminator update on ``real`` (and ``fakes``, drawn when not given); returns logs."""
    batch_size = tf.shape(real)[0]
    if fakes is None:
        fakes = gan.make_fakes(condition, batch_size, training=True)
    fakes = tf.stop_gradient(fakes)
    with tf.GradientTape() as tape:
        real_in = gan.augment(real)
        fake_in = gan.augment(tf.cast(fakes, real.dtype))
        real_logits = gan.discriminate(real_in, condition, training=True)
        fake_logits = gan.discriminate(fake_in, condition, training=True)
        loss = tf.cast(
            gan.compute_discriminator_loss(real_logits, fake_logits, real, fakes, condition),
            tf.float32,
        )
        total = loss
        logs = {}
        if gan.gradient_penalty_weight:
            alpha = gan.seed_generator.uniform(
                tf.concat([tf.shape(real_in)[:1], tf.ones([tf.rank(real_in) - 1], tf.int32)], 0)
            )
            penalty = regularizers.gradient_penalty(
                lambda x: gan.discriminate(x, condition, training=True),
                tf.cast(real_in, tf.float32), tf.cast(fake_in, tf.float32), alpha=alpha,
            )
            total += gan.gradient_penalty_weight * penalty
            logs["gradient_penalty"] = penalty
        if gan.r1_penalty_weight:
            penalty = regularizers.r1_penalty(
                lambda x: gan.discriminate(x, condition, training=True),
                tf.cast(real_in, tf.float32),
            )
            total += 0.5 * gan.r1_penalty_weight * penalty
            logs["r1_penalty"] = penalty
        if gan.discriminator_orthogonal:
            total += regularizers.orthogonal_regularization(gan.discriminator, gan.discriminator_orthogonal)
        if gan.discriminator.losses:
            total += tf.add_n([tf.cast(x, tf.float32) for x in gan.discriminator.losses])
        scaled = gan.wrapped_discriminator_optimizer.scale_loss(total)
    variables = gan.discriminator.trainable_variables
    grads = tape.gradient(scaled, variables)
    gan.wrapped_discriminator_optimizer.apply_gradients(grads, variables)
    logs.update(loss_scale_logs("d", gan.wrapped_discriminator_optimizer))
    logs.update(
        d_loss=total,
        d_real=tf.reduce_mean(tf.cast(real_logits, tf.float32)),
        d_fake=tf.reduce_mean(tf.cast(fake_logits, tf.float32)),
    )
    return logs

def generator_step(gan, real, condition):
    """One generator update from fresh fakes; returns logs."""
    batch_size = tf.shape(real)[0]
    with tf.GradientTape() as tape:
        fakes = gan.make_fakes(condition, batch_size, training=True)
        loss, extra = adversarial_generator_loss(gan, fakes, real, condition)
        total = loss + generator_regularization(gan)
        scaled = gan.wrapped_generator_optimizer.scale_loss(total)
    variables = gan.generator.trainable_variables
    return apply_generator_gradients(gan, tape.gradient(scaled, variables), total, extra)

def adversarial_generator_loss(gan, fakes, real, condition):
    """The discriminator's verdict on ``fakes`` through :meth:`compute_generator_loss`:
    ``(float32 loss, extra metrics)``."""
    fake_logits = gan.discriminate(gan.augment(tf.cast(fakes, real.dtype)), condition, training=True)
    loss = gan.compute_generator_loss(fake_logits, fakes, real, condition)
    extra = {}
    if isinstance(loss, (tuple, list)):
        loss, extra = loss
    return tf.cast(loss, tf.float32), extra

def apply_generator_gradients(gan, grads, total, extra):
    """Applies the generator's gradients through its wrapped optimizer; returns logs."""
    gan.wrapped_generator_optimizer.apply_gradients(grads, gan.generator.trainable_variables)
    return {"g_loss": total, **extra, **loss_scale_logs("g", gan.wrapped_generator_optimizer)}

def generator_regularization(gan):
    """Orthogonal regularization and the generator's own layer losses (float32)."""
    total = tf.zeros([], tf.float32)
    if gan.generator_orthogonal:
        total += regularizers.orthogonal_regularization(gan.generator, gan.generator_orthogonal)
    if gan.generator.losses:
        total += tf.add_n([tf.cast(x, tf.float32) for x in gan.generator.losses])
    return total

def shared_pass_step(gan, real, condition):
    """One iteration with one generator pass (``reuse_fakes=True``): D step on the
    fakes, then the G step through the same pass, by the chain rule in two parts:
    ∂loss/∂fakes from a tape over the (updated) discriminator, then the generator's
    tape differentiated with that as the output gradient."""
    batch_size = tf.shape(real)[0]
    with tf.GradientTape() as generator_tape:
        fakes = gan.make_fakes(condition, batch_size, training=True)
        regularization = generator_regularization(gan)
        scaled_regularization = gan.wrapped_generator_optimizer.scale_loss(regularization)
    logs = discriminator_step(gan, real, condition, fakes=fakes)
    with tf.GradientTape() as tape:
        tape.watch(fakes)
        adversarial, extra = adversarial_generator_loss(gan, fakes, real, condition)
        scaled = gan.wrapped_generator_optimizer.scale_loss(adversarial)
    upstream = tape.gradient(scaled, fakes)
    grads = generator_tape.gradient(
        [fakes, scaled_regularization], gan.generator.trainable_variables,
        output_gradients=[upstream, tf.ones_like(scaled_regularization)],
    )
    logs.update(apply_generator_gradients(gan, grads, adversarial + regularization, extra))
    return logs

def update_ema(gan):
    """Moves the averaged generator towards the raw one (no-op without EMA)."""
    if gan.ema_generator is None:
        return
    step = tf.cast(gan.generator_optimizer.iterations, tf.float32)
    decay = tf.where(step <= float(gan.ema_start), 0.0, float(gan.ema_decay))
    for average, weight in zip(gan.ema_generator.trainable_variables, gan.generator.trainable_variables):
        average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))
    # Batch-norm statistics and spectral-norm vectors follow the raw generator; use
    # recompute_generator_statistics() for BigGAN's "standing statistics".
    for average, weight in zip(gan.ema_generator.non_trainable_variables,
                               gan.generator.non_trainable_variables):
        average.assign(weight)


__all__ = ["adversarial_generator_loss", "apply_generator_gradients", "discriminator_step",
           "generator_regularization", "generator_step", "shared_pass_step", "update_ema"]
