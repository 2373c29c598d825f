# Reference values for mentoreval.stats paired tests, effect sizes, multiplicity, McNemar
# and power. Run: Rscript stats_paired.R  (writes stats_paired.json and stats_ties.csv)
# R 4.2.2, effectsize 0.8.3 (Debian bookworm packages).
suppressPackageStartupMessages({library(effectsize); library(jsonlite)})
out <- list()
# --- R's sleep data: group 1 = pre, group 2 = post (paired by ID) ---
pre <- sleep$extra[sleep$group == 1]; post <- sleep$extra[sleep$group == 2]
tt <- t.test(post, pre, paired = TRUE)
out$sleep_t <- unname(tt$statistic); out$sleep_df <- unname(tt$parameter)
out$sleep_p <- tt$p.value; out$sleep_ci <- unname(tt$conf.int[1:2])
out$sleep_mean_diff <- unname(tt$estimate)
d <- cohens_d(post, pre, paired = TRUE)
out$sleep_d_z <- d$Cohens_d; out$sleep_d_z_ci <- c(d$CI_low, d$CI_high)
g <- hedges_g(post, pre, paired = TRUE)
out$sleep_g_z <- g$Hedges_g; out$sleep_g_z_ci <- c(g$CI_low, g$CI_high)
w <- suppressWarnings(wilcox.test(post, pre, paired = TRUE))
out$sleep_wilcox_v <- unname(w$statistic); out$sleep_wilcox_p <- w$p.value
rb <- rank_biserial(post, pre, paired = TRUE)
out$sleep_rank_biserial <- rb$r_rank_biserial
out$sleep_r_prepost <- cor(pre, post)
# --- a second paired set with ties and zeros, and an exact Wilcoxon without ties ---
set.seed(20240601)
x <- round(rnorm(25, 20, 5)); y <- x + round(rnorm(25, 1.5, 3))
write.csv(data.frame(pre = x, post = y), "stats_ties.csv", row.names = FALSE)
w2 <- suppressWarnings(wilcox.test(y, x, paired = TRUE))
out$ties_wilcox_v <- unname(w2$statistic); out$ties_wilcox_p <- w2$p.value
rb2 <- rank_biserial(y, x, paired = TRUE)
out$ties_rank_biserial <- rb2$r_rank_biserial; out$ties_rank_biserial_ci <- c(rb2$CI_low, rb2$CI_high)
d2 <- cohens_d(y, x, paired = TRUE)
out$ties_d_z <- d2$Cohens_d; out$ties_d_z_ci <- c(d2$CI_low, d2$CI_high)
a <- c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30)
b <- c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29)
we <- wilcox.test(b, a, paired = TRUE, exact = TRUE)
out$exact_a <- a; out$exact_b <- b; out$exact_wilcox_p <- we$p.value
# --- p.adjust ---
p <- c(.01, .02, .03, .04, .05, .20)
out$padj_p <- p; out$padj_holm <- p.adjust(p, "holm"); out$padj_bh <- p.adjust(p, "BH")
p2 <- c(0.0004, 0.19, 0.012, 0.031, 0.77, 0.0091, 0.049)
out$padj2_p <- p2; out$padj2_holm <- p.adjust(p2, "holm"); out$padj2_bh <- p.adjust(p2, "BH")
out$padj2_bonferroni <- p.adjust(p2, "bonferroni")
# --- mcnemar.test ---
m <- matrix(c(794, 86, 150, 570), nrow = 2)
mc <- mcnemar.test(m); mc0 <- mcnemar.test(m, correct = FALSE)
out$mcnemar_stat <- unname(mc$statistic); out$mcnemar_p <- mc$p.value
out$mcnemar_stat_nocorr <- unname(mc0$statistic); out$mcnemar_p_nocorr <- mc0$p.value
out$mcnemar_exact_p <- binom.test(86, 86 + 150)$p.value
# --- power.t.test ---
out$power_paired_n <- power.t.test(delta = 0.5, sd = 1, power = 0.8, type = "paired")$n
out$power_two_n <- power.t.test(delta = 0.5, sd = 1, power = 0.8)$n
out$power_paired_power_n20 <- power.t.test(n = 20, delta = 0.5, sd = 1, type = "paired")$power
out$power_two_power_n40 <- power.t.test(n = 40, delta = 0.5, sd = 1)$power
out$power_paired_delta_n30 <- power.t.test(n = 30, power = 0.8, sd = 1, type = "paired")$delta
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "stats_paired.json")
