# Reference values for the annual report's pooled p-values and their Holm adjustment
# (report/annual/pooling.py): DerSimonian–Laird random effects of each scale's cohort
# mean changes, then p.adjust(holm) over the primary scales' pooled p-values.
# Run: Rscript annual_holm.R  (writes annual_holm.json). R 4.2.2, metafor (Debian bookworm).
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
cohorts <- data.frame(
  scale = rep(c("a", "b", "c", "d"), each = 3),
  year = rep(2023:2025, 4),
  mean_diff = c(0.18, 0.26, 0.15,  -1.1, -4.4, -0.1,  4.1, -0.3, -3.6,  0.30, 0.10, 0.42),
  se = c(0.085, 0.080, 0.100,  2.31, 2.60, 2.77,  3.26, 3.26, 3.76,  0.12, 0.15, 0.20),
  primary = rep(c(TRUE, TRUE, TRUE, FALSE), each = 3)
)
pooled <- do.call(rbind, lapply(split(cohorts, cohorts$scale), function(g) {
  fit <- rma(yi = g$mean_diff, sei = g$se, method = "DL")
  data.frame(scale = g$scale[1], estimate = as.numeric(fit$beta), p_value = fit$pval,
             primary = g$primary[1])
}))
rownames(pooled) <- NULL
pooled$p_adj <- NA_real_
pooled$p_adj[pooled$primary] <- p.adjust(pooled$p_value[pooled$primary], method = "holm")
write_json(list(cohorts = cohorts, pooled = pooled), "annual_holm.json", digits = NA,
           pretty = TRUE, na = "null")
