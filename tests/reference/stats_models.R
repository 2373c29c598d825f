# Reference values for mentoreval.stats.controlled / mixed / meta:
#   car::Anova (Type II; Type III under contr.sum) + emmeans for an ANCOVA,
#   lmerTest Satterthwaite df and p for a random-intercept pre/post model,
#   metafor rma(method = "DL") on the BCG vaccine data.
# Run: Rscript stats_models.R  (writes stats_prepost.csv, stats_bcg.csv, stats_models.json)
suppressPackageStartupMessages({
  library(car); library(emmeans); library(lmerTest); library(metafor); library(jsonlite)
})
set.seed(20240602)
n <- 80
d <- data.frame(
  participant_id = sprintf("p%03d", 1:n),
  group = rep(c("mentored", "comparison"), length.out = n),
  year_of_study = sample(1:5, n, replace = TRUE),
  gender = sample(c("female", "male"), n, replace = TRUE, prob = c(.6, .4)),
  site = sample(c("north", "south", "west"), n, replace = TRUE)
)
site_eff <- c(north = 0, south = 2, west = -1.5)
d$pre <- round(50 + 1.2 * d$year_of_study + rnorm(n, 0, 9), 1)
d$post <- round(18 + 0.65 * d$pre + 3 * (d$group == "mentored") + site_eff[d$site] + rnorm(n, 0, 6), 1)
d$post[sample(n, 12)] <- NA     # attrition: 12 without a post score
d$pre[sample(which(!is.na(d$post)), 3)] <- NA   # 3 with post only
write.csv(d, "stats_prepost.csv", row.names = FALSE, na = "")
out <- list()
cc <- d[complete.cases(d), ]
out$ancova_n <- nrow(cc)
fit <- lm(post ~ pre + group + year_of_study + gender + site, data = cc)
a2 <- Anova(fit, type = 2)
out$type2_terms <- rownames(a2); out$type2_ss <- a2$`Sum Sq`; out$type2_df <- a2$Df
out$type2_F <- a2$`F value`; out$type2_p <- a2$`Pr(>F)`
options(contrasts = c("contr.sum", "contr.poly"))
fit3 <- lm(post ~ pre + group + year_of_study + gender + site, data = cc)
a3 <- Anova(fit3, type = 3)
out$type3_terms <- rownames(a3); out$type3_ss <- a3$`Sum Sq`; out$type3_F <- a3$`F value`
out$type3_p <- a3$`Pr(>F)`
options(contrasts = c("contr.treatment", "contr.poly"))
em <- emmeans(fit, "group")
es <- summary(em)
out$emm_group <- as.character(es$group); out$emm <- es$emmean; out$emm_se <- es$SE
out$emm_df <- es$df; out$emm_lower <- es$lower.CL; out$emm_upper <- es$upper.CL
pr <- summary(pairs(em, reverse = TRUE), infer = TRUE)   # mentored - comparison
out$emm_contrast <- as.character(pr$contrast); out$emm_diff <- pr$estimate
out$emm_diff_se <- pr$SE; out$emm_diff_lower <- pr$lower.CL; out$emm_diff_upper <- pr$upper.CL
out$emm_diff_t <- pr$t.ratio; out$emm_diff_p <- pr$p.value
# --- random-intercept pre/post LMM, keeps one-wave students ---
long <- rbind(
  data.frame(participant_id = d$participant_id, group = d$group, site = d$site, time = "pre", score = d$pre),
  data.frame(participant_id = d$participant_id, group = d$group, site = d$site, time = "post", score = d$post)
)
long <- long[!is.na(long$score), ]
long$time <- factor(long$time, levels = c("pre", "post"))
long$group <- factor(long$group, levels = c("comparison", "mentored"))
out$lmm_n_obs <- nrow(long)
m1 <- lmer(score ~ time * group + (1 | participant_id), data = long, REML = TRUE)
s1 <- coef(summary(m1))
out$lmm1_terms <- rownames(s1); out$lmm1_est <- unname(s1[, 1]); out$lmm1_se <- unname(s1[, 2])
out$lmm1_df <- unname(s1[, 3]); out$lmm1_t <- unname(s1[, 4]); out$lmm1_p <- unname(s1[, 5])
vc <- as.data.frame(VarCorr(m1))
out$lmm1_var_participant <- vc$vcov[1]; out$lmm1_var_residual <- vc$vcov[2]
m2 <- lmer(score ~ time * group + site + (1 | participant_id), data = long, REML = TRUE)
s2 <- coef(summary(m2))
out$lmm2_terms <- rownames(s2); out$lmm2_est <- unname(s2[, 1]); out$lmm2_se <- unname(s2[, 2])
out$lmm2_df <- unname(s2[, 3]); out$lmm2_p <- unname(s2[, 5])
# a small unbalanced set: first 16 participants only, where df is far from large-sample
small <- long[long$participant_id %in% d$participant_id[1:16], ]
m3 <- lmer(score ~ time * group + (1 | participant_id), data = small, REML = TRUE)
s3 <- coef(summary(m3))
out$lmm3_n_obs <- nrow(small)
out$lmm3_est <- unname(s3[, 1]); out$lmm3_se <- unname(s3[, 2]); out$lmm3_df <- unname(s3[, 3])
out$lmm3_p <- unname(s3[, 5])
# --- DerSimonian-Laird pooling (metafor) ---
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
write.csv(data.frame(study = paste(bcg$author, bcg$year), yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi)),
          "stats_bcg.csv", row.names = FALSE)
r <- rma(yi, vi, data = bcg, method = "DL")
out$dl_est <- as.numeric(r$beta); out$dl_se <- r$se; out$dl_ci <- c(r$ci.lb, r$ci.ub)
out$dl_tau2 <- r$tau2; out$dl_i2 <- r$I2; out$dl_h2 <- r$H2; out$dl_q <- r$QE; out$dl_qp <- r$QEp
out$dl_z <- r$zval; out$dl_p <- r$pval
pi <- predict(r); out$dl_pi <- c(pi$pi.lb, pi$pi.ub)
rf <- rma(yi, vi, data = bcg, method = "FE")
out$fe_est <- as.numeric(rf$beta); out$fe_se <- rf$se
out$dl_weights <- unname(weights(r))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "stats_models.json")
