//! Rate limits. Login attempts are counted in Redis, per IP address and per login, so that
//! every gateway instance shares the count; JSON-RPC calls are metered per account by a token
//! bucket in the instance's memory (the hot path stays off the network).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// Buckets kept before the full ones are forgotten.
const SEAUX_MAX: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Seau {
    jetons: f64,
    vu: Instant,
}

/// A token bucket per key: `debit` per second, up to `rafale` at once.
#[derive(Debug)]
pub struct Limiteur<K> {
    debit: f64,
    rafale: f64,
    seaux: Mutex<HashMap<K, Seau>>,
}

impl<K: Eq + Hash + Clone> Limiteur<K> {
    /// `debit` calls per second sustained, bursts of `rafale`.
    pub fn new(debit: u32, rafale: u32) -> Self {
        Self {
            debit: f64::from(debit.max(1)),
            rafale: f64::from(rafale.max(1)),
            seaux: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `cle`: `Ok` when allowed, else how long until one is available.
    pub fn prendre(&self, cle: &K) -> Result<(), Duration> {
        self.prendre_a(cle, Instant::now())
    }

    fn prendre_a(&self, cle: &K, maintenant: Instant) -> Result<(), Duration> {
        let mut seaux = self
            .seaux
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seaux.len() >= SEAUX_MAX {
            let (debit, rafale) = (self.debit, self.rafale);
            seaux.retain(|_, s| {
                s.jetons + maintenant.duration_since(s.vu).as_secs_f64() * debit < rafale
            });
        }
        let seau = seaux.entry(cle.clone()).or_insert(Seau {
            jetons: self.rafale,
            vu: maintenant,
        });
        let ecoule = maintenant.duration_since(seau.vu).as_secs_f64();
        seau.jetons = (seau.jetons + ecoule * self.debit).min(self.rafale);
        seau.vu = maintenant;
        if seau.jetons >= 1.0 {
            seau.jetons -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - seau.jetons) / self.debit))
        }
    }
}

/// Login attempts per minute, per IP and per login, counted in Redis.
#[derive(Clone)]
pub struct LimiteConnexions {
    redis: ConnectionManager,
    prefixe: String,
    par_minute: u32,
}

impl std::fmt::Debug for LimiteConnexions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimiteConnexions")
            .field("par_minute", &self.par_minute)
            .finish_non_exhaustive()
    }
}

impl LimiteConnexions {
    /// `par_minute` attempts per IP and per login; keys under `prefixe`.
    pub fn new(redis: ConnectionManager, prefixe: &str, par_minute: u32) -> Self {
        Self {
            redis,
            prefixe: prefixe.to_owned(),
            par_minute,
        }
    }

    /// Counts one attempt; `Err` with the wait when over the limit. If Redis cannot be
    /// reached the attempt is allowed (and logged): a cache outage must not lock every
    /// player out; argon2's cost still bounds a brute force.
    pub async fn compter(&self, ip: IpAddr, login: &str) -> Result<(), Duration> {
        let minute = chrono::Utc::now().timestamp() / 60;
        let reste = Duration::from_secs(60 - (chrono::Utc::now().timestamp() % 60) as u64);
        let cles = [
            format!("{}limite:connexion:ip:{ip}:{minute}", self.prefixe),
            format!(
                "{}limite:connexion:login:{}:{minute}",
                self.prefixe,
                login.to_lowercase()
            ),
        ];
        let mut redis = self.redis.clone();
        let mut pipe = redis::pipe();
        for cle in &cles {
            pipe.incr(cle, 1).expire(cle, 120).ignore();
        }
        let compte: Result<(u32, u32), _> =
            tokio::time::timeout(Duration::from_secs(1), pipe.query_async(&mut redis))
                .await
                .unwrap_or_else(|_| {
                    Err(redis::RedisError::from((
                        redis::ErrorKind::IoError,
                        "délai",
                    )))
                });
        match compte {
            Ok((par_ip, par_login)) if par_ip > self.par_minute || par_login > self.par_minute => {
                Err(reste)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(erreur = %e, "limite de connexions non comptée (Redis)");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_seau_laisse_passer_la_rafale_puis_le_debit() {
        let l = Limiteur::new(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.prendre_a(&1, t0).is_ok());
        }
        let attente = l.prendre_a(&1, t0).expect_err("rafale épuisée");
        assert!(attente <= Duration::from_millis(100), "{attente:?}");
        assert!(l.prendre_a(&1, t0 + Duration::from_millis(100)).is_ok());
        assert!(
            l.prendre_a(&2, t0).is_ok(),
            "une autre clé a son propre seau"
        );
    }
}
