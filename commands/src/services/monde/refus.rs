//! Refused steps counted per account, in a window shared by every gateway instance (one Redis
//! counter per account): a client that keeps stepping faster than the rule, or out of its
//! zone, is cheating or broken, and the caller logs it as a security event once the count
//! reaches [`SEUIL_REFUS`] within [`FENETRE_REFUS`].

use std::time::Duration;

use domain::ids::CompteId;

use super::Monde;
use crate::erreurs::ErreurApplication;

/// The window refused steps are counted over.
pub const FENETRE_REFUS: Duration = Duration::from_secs(10);

/// Refused steps of one account within [`FENETRE_REFUS`] that make a sustained pattern. An
/// honest client gets one now and then (a lag spike, then it snaps back); a cheating one gets
/// dozens a second.
pub const SEUIL_REFUS: u64 = 10;

impl Monde {
    /// Counts a refused step of the account: how many it has in the current window, this one
    /// included. The window starts at the account's first refusal and lasts
    /// [`FENETRE_REFUS`].
    pub async fn compter_refus(&self, compte: CompteId) -> Result<u64, ErreurApplication> {
        let cle = self.cle(&format!("monde:refus:{compte}"));
        let (n,): (u64,) = redis::pipe()
            .incr(&cle, 1)
            .cmd("PEXPIRE")
            .arg(&cle)
            .arg(FENETRE_REFUS.as_millis() as u64)
            .arg("NX")
            .ignore()
            .query_async(&mut self.redis())
            .await?;
        Ok(n)
    }
}
