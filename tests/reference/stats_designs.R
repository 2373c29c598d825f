# Reference values for the designs of issue 17 (mentoreval.stats.unlinked, .multiwave,
# .equivalence, and the Satterthwaite df of .mixed):
#   unlinked pre/post: Welch t.test, effectsize::hedges_g / cohens_d (pooled SD, ncp CI),
#     wilcox.test (two-sample) + effectsize::rank_biserial, group x wave lm with
#     sandwich::vcovHC(type = "HC3") + lmtest::coeftest / coefci;
#   multi-wave random-intercept LMM: lmerTest::lmer (Satterthwaite) and emmeans
#     trt.vs.ctrl contrasts against baseline (Holm), per arm, with lmer.df = "satterthwaite";
#   TOST against +-MID by hand (Debian has no TOSTER): two one-sided t.test calls and the
#     (1 - 2 alpha) CI, paired and Welch;
#   JZS Bayes factors: BayesFactor::ttestBF (rscale = "medium" = sqrt(2)/2).
# Run: Rscript stats_designs.R  (writes stats_unlinked.csv, stats_multiwave.csv and
# stats_designs.json). R 4.2.2, effectsize 0.8.3, lme4 1.1-31, lmerTest 3.1-3,
# emmeans 1.8.4-1, sandwich 3.0-2, lmtest 0.9-40, BayesFactor 0.9.12-4.4 (Debian bookworm).
suppressPackageStartupMessages({
  library(effectsize); library(lmerTest); library(emmeans); library(sandwich)
  library(lmtest); library(BayesFactor); library(jsonlite)
})
out <- list()
versions <- sapply(c("effectsize", "lme4", "lmerTest", "emmeans", "sandwich", "lmtest",
                     "BayesFactor"), function(p) as.character(packageVersion(p)))
out$versions <- as.list(c(R = paste(R.version$major, R.version$minor, sep = "."), versions))

# --- 1. unlinked pre/post: two independent samples ----------------------------------------
set.seed(20240617)
pre <- round(rnorm(34, 52, 14), 1); post <- round(rnorm(41, 58, 10), 1)
# a small sample without ties (exact Mann-Whitney) and one with ties (normal approximation)
pre_s <- round(rnorm(9, 50, 10), 2); post_s <- round(rnorm(12, 56, 12), 2)
pre_t <- round(rnorm(30, 12, 4)); post_t <- round(rnorm(27, 14, 5))
u <- rbind(
  data.frame(set = "main", wave = "pre", score = pre), data.frame(set = "main", wave = "post", score = post),
  data.frame(set = "small", wave = "pre", score = pre_s), data.frame(set = "small", wave = "post", score = post_s),
  data.frame(set = "ties", wave = "pre", score = pre_t), data.frame(set = "ties", wave = "post", score = post_t)
)
for (s in c("main", "small", "ties")) {
  x <- u$score[u$set == s & u$wave == "post"]; y <- u$score[u$set == s & u$wave == "pre"]
  tt <- t.test(x, y, var.equal = FALSE)
  g <- hedges_g(x, y); d <- cohens_d(x, y)
  w <- suppressWarnings(wilcox.test(x, y))
  rb <- rank_biserial(x, y)
  out[[s]] <- list(
    welch_t = unname(tt$statistic), welch_df = unname(tt$parameter), welch_p = tt$p.value,
    welch_ci = unname(tt$conf.int[1:2]), mean_diff = unname(tt$estimate[1] - tt$estimate[2]),
    hedges_g = g$Hedges_g, hedges_g_ci = c(g$CI_low, g$CI_high),
    cohens_d = d$Cohens_d, cohens_d_ci = c(d$CI_low, d$CI_high),
    wilcox_w = unname(w$statistic), wilcox_p = w$p.value,
    wilcox_exact = grepl("exact", w$method),
    wilcox_method = w$method,
    rank_biserial = rb$r_rank_biserial, rank_biserial_ci = c(rb$CI_low, rb$CI_high)
  )
}
# group x wave with a comparison group, unequal cells and variances
n_cell <- c(pre.comparison = 22, post.comparison = 19, pre.mentored = 30, post.mentored = 26)
sd_cell <- c(8, 9, 12, 15); mu_cell <- c(50, 51, 49, 56)
gw <- do.call(rbind, lapply(seq_along(n_cell), function(i) {
  wg <- strsplit(names(n_cell)[i], ".", fixed = TRUE)[[1]]
  data.frame(set = "groups", wave = wg[1], group = wg[2],
             score = round(rnorm(n_cell[i], mu_cell[i], sd_cell[i]), 1))
}))
u$group <- NA
u <- rbind(u, gw)
write.csv(u, "stats_unlinked.csv", row.names = FALSE, na = "")
gw$wave <- factor(gw$wave, levels = c("pre", "post"))
gw$group <- factor(gw$group, levels = c("comparison", "mentored"))
fit <- lm(score ~ wave * group, data = gw)
v3 <- vcovHC(fit, type = "HC3")
ct <- coeftest(fit, vcov. = v3); ci <- coefci(fit, vcov. = v3)
out$hc3 <- list(terms = rownames(ct), est = unname(ct[, 1]), se = unname(ct[, 2]),
                t = unname(ct[, 3]), p = unname(ct[, 4]), ci_low = unname(ci[, 1]),
                ci_high = unname(ci[, 2]), df = fit$df.residual,
                se_classical = unname(coef(summary(fit))[, 2]))
# change from pre to post within the mentored arm (wave + interaction), HC3
l_mentored <- c(0, 1, 0, 1)
out$hc3$mentored_change <- sum(l_mentored * coef(fit))
out$hc3$mentored_change_se <- sqrt(drop(t(l_mentored) %*% v3 %*% l_mentored))

# --- 2. multi-wave random-intercept LMM ----------------------------------------------------
set.seed(20240618)
n <- 60
waves <- c("baseline", "mid", "end", "followup")
p <- data.frame(participant_id = sprintf("s%02d", 1:n),
                group = rep(c("mentored", "comparison"), length.out = n),
                site = sample(c("north", "south", "west"), n, replace = TRUE),
                year_of_study = sample(1:5, n, replace = TRUE))
b <- rnorm(n, 0, 7)
mw <- do.call(rbind, lapply(seq_along(waves), function(k) {
  eff <- c(0, 2, 4, 3)[k] * (p$group == "mentored") + c(0, 0.5, 1, 0.5)[k]
  data.frame(p, wave = waves[k],
             score = round(50 + b + eff + 0.8 * p$year_of_study + rnorm(n, 0, 5), 1))
}))
# attrition grows with time; a few miss the baseline
keep <- runif(nrow(mw)) > c(baseline = 0.05, mid = 0.15, end = 0.25, followup = 0.4)[mw$wave]
mw <- mw[keep, ]
write.csv(mw, "stats_multiwave.csv", row.names = FALSE)
mw$wave <- factor(mw$wave, levels = waves)
mw$group <- factor(mw$group, levels = c("comparison", "mentored"))
emm_options(lmer.df = "satterthwaite")
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14,
                                    ftol_rel = 1e-15, maxeval = 1e5))
lmm_out <- function(m) {
  s <- coef(summary(m)); vc <- as.data.frame(VarCorr(m))
  list(terms = rownames(s), est = unname(s[, 1]), se = unname(s[, 2]), df = unname(s[, 3]),
       t = unname(s[, 4]), p = unname(s[, 5]), var_participant = vc$vcov[1],
       var_residual = vc$vcov[2], n_obs = nobs(m))
}
contrasts_out <- function(m, by = NULL) {
  em <- if (is.null(by)) emmeans(m, ~ wave) else emmeans(m, ~ wave | group)
  cadj <- summary(contrast(em, "trt.vs.ctrl", ref = 1, adjust = "holm"), infer = c(FALSE, TRUE))
  craw <- summary(contrast(em, "trt.vs.ctrl", ref = 1, adjust = "none"), infer = TRUE)
  sm <- summary(em, infer = TRUE)
  res <- list(c_contrast = as.character(craw$contrast), c_estimate = craw$estimate,
              c_se = craw$SE, c_df = craw$df, c_t = craw$t.ratio, c_p = craw$p.value,
              c_p_holm = cadj$p.value, c_ci_low = craw$lower.CL, c_ci_high = craw$upper.CL,
              emm_wave = as.character(sm$wave), emmean = sm$emmean, emm_se = sm$SE,
              emm_df = sm$df, emm_low = sm$lower.CL, emm_high = sm$upper.CL)
  if (!is.null(by)) { res$c_group <- as.character(craw$group); res$emm_group <- as.character(sm$group) }
  res
}
ma <- lmer(score ~ wave + (1 | participant_id), data = mw, REML = TRUE)
out$mw_a <- c(lmm_out(ma), contrasts_out(ma))
out$mw_a_tight_df <- unname(coef(summary(update(ma, control = tight)))[, 3])
mb <- lmer(score ~ wave * group + (1 | participant_id), data = mw, REML = TRUE)
out$mw_b <- c(lmm_out(mb), contrasts_out(mb, by = "group"))
out$mw_b_tight_df <- unname(coef(summary(update(mb, control = tight)))[, 3])
sb <- coef(summary(mb)); inter <- grep(":", rownames(sb))
out$mw_b$interaction_p_holm <- p.adjust(sb[inter, 5], "holm")
mc <- lmer(score ~ wave * group + year_of_study + site + (1 | participant_id), data = mw, REML = TRUE)
out$mw_c <- c(lmm_out(mc), contrasts_out(mc, by = "group"))
out$mw_c_tight_df <- unname(coef(summary(update(mc, control = tight)))[, 3])

# --- 3. TOST against +-MID by hand -------------------------------------------------------
tost <- function(x, y, mid, alpha = 0.05, paired = FALSE) {
  lo <- t.test(x, y, mu = -mid, alternative = "greater", paired = paired, var.equal = FALSE)
  hi <- t.test(x, y, mu = mid, alternative = "less", paired = paired, var.equal = FALSE)
  ci <- t.test(x, y, paired = paired, var.equal = FALSE, conf.level = 1 - 2 * alpha)$conf.int
  list(mid = mid, t_lower = unname(lo$statistic), p_lower = lo$p.value,
       t_upper = unname(hi$statistic), p_upper = hi$p.value, df = unname(lo$parameter),
       ci_low = ci[1], ci_high = ci[2], equivalent = max(lo$p.value, hi$p.value) < alpha)
}
tp <- read.csv("stats_ties.csv")   # paired set of stats_paired.R
out$tost_paired_wide <- tost(tp$post, tp$pre, mid = 5, paired = TRUE)
out$tost_paired_narrow <- tost(tp$post, tp$pre, mid = 1, paired = TRUE)
xm <- u$score[u$set == "main" & u$wave == "post"]; ym <- u$score[u$set == "main" & u$wave == "pre"]
out$tost_welch_wide <- tost(xm, ym, mid = 15)
out$tost_welch_narrow <- tost(xm, ym, mid = 5)
out$tost_welch_alpha10 <- tost(xm, ym, mid = 15, alpha = 0.10)

# --- 4. JZS Bayes factors ------------------------------------------------------------------
bf <- function(b) extractBF(b, onlybf = TRUE)
out$bf_paired_ties <- bf(ttestBF(x = tp$post, y = tp$pre, paired = TRUE))
out$bf_independent_main <- bf(ttestBF(x = xm, y = ym))
xs <- u$score[u$set == "small" & u$wave == "post"]; ys <- u$score[u$set == "small" & u$wave == "pre"]
out$bf_independent_small <- bf(ttestBF(x = xs, y = ys))
sleep_pre <- sleep$extra[sleep$group == 1]; sleep_post <- sleep$extra[sleep$group == 2]
out$bf_paired_sleep <- bf(ttestBF(x = sleep_post, y = sleep_pre, paired = TRUE))
out$bf_paired_sleep_wide <- bf(ttestBF(x = sleep_post, y = sleep_pre, paired = TRUE, rscale = "wide"))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "stats_designs.json")
