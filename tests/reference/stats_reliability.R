# Reference values for mentoreval.stats.reliability: psych::alpha (keys = A1 reversed) and
# psych::omega (one factor, minres) on a subset of psych's bfi Agreeableness items.
# Run: Rscript stats_reliability.R  (writes stats_bfi_agree.csv and stats_reliability.json)
suppressPackageStartupMessages({library(psych); library(jsonlite)})
data(bfi, package = "psych")
x <- bfi[1:300, c("A1", "A2", "A3", "A4", "A5")]   # raw codes 1-6, A1 negatively keyed, some NA
write.csv(x, "stats_bfi_agree.csv", row.names = FALSE, na = "")
a <- alpha(x, keys = "A1")
xr <- x; xr$A1 <- 7 - xr$A1
om <- suppressWarnings(omega(xr, nfactors = 1, plot = FALSE))
f1 <- fa(xr, nfactors = 1, fm = "minres")
out <- list(
  raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, n_obs = nrow(x),
  feldt = unname(unlist(a$feldt[c("lower.ci", "alpha", "upper.ci")])),
  alpha_if_deleted = unname(a$alpha.drop$raw_alpha),
  r_drop = unname(a$item.stats$r.drop),
  omega_total = om$omega.tot, loadings = unname(as.numeric(f1$loadings)),
  uniquenesses = unname(f1$uniquenesses)
)
# without the key, psych warns that A1 correlates negatively with the total
a_bad <- suppressWarnings(alpha(x, check.keys = FALSE))
out$unkeyed_raw_alpha <- a_bad$total$raw_alpha
out$unkeyed_r_drop <- unname(a_bad$item.stats$r.drop)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "stats_reliability.json")
