//! Secondary NICs: `server/addNic` and `server/removeNic`.
//!
//! An addNic is a create: its answer carries the new NIC id, and a lost answer (connection reset,
//! 5xx) may hide an applied change. So [`CloudClient::add_nic`] never sends a second addNic blindly:
//! it observes the server first (waiting for a pending change to end, since the NIC only appears
//! when it completes) and takes a NIC already on the target as the answer. INVALID_INPUT_DATA (the
//! API's "already has a NIC on that VLAN") is success in the same way, after observing.

use serde::{Deserialize, Serialize};

use super::codes::ErrorCode;
use super::error::{CloudError, CloudResult};
use super::model::Nic;
use super::ops::Wait;
use super::transport::{CloudClient, Kind};
use super::wait::AsyncOp;
use super::wire::XmlBody;

/// How many addNic requests are sent at most when their answers keep getting lost.
const ADD_ATTEMPTS: u32 = 6;

/// Where a new secondary NIC goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NicTarget {
    /// Any free address of this VLAN (by id).
    Vlan(String),
    /// This private IPv4 (its VLAN is the domain's VLAN that contains it).
    Ipv4(String),
}

impl NicTarget {
    /// True when `nic` is the NIC this target asks for.
    pub fn matches(&self, nic: &Nic) -> bool {
        match self {
            NicTarget::Vlan(v) => nic.vlan_id.as_deref().map(str::trim) == Some(v.as_str()),
            NicTarget::Ipv4(a) => nic.private_ipv4.as_deref().map(str::trim) == Some(a.as_str()),
        }
    }
}

impl CloudClient {
    /// `POST server/addNic` once: the new NIC id, or [`CloudError::AnswerLost`].
    async fn send_add_nic(&self, server_id: &str, target: &NicTarget) -> CloudResult<String> {
        let mut b = XmlBody::new("addNic", &[]);
        b.text("serverId", server_id).open("nic", &[]);
        match target {
            NicTarget::Vlan(v) => b.text("vlanId", v),
            NicTarget::Ipv4(a) => b.text("privateIpv4", a),
        };
        b.close("nic");
        let r = self
            .post(Kind::Create, "addNic", "server/addNic", b.finish())
            .await?;
        r.info("nicId")
            .map(str::to_string)
            .ok_or_else(|| CloudError::Decode {
                what: r.operation.clone(),
                detail: "no info nicId in the answer".into(),
            })
    }

    /// The id of the server's secondary NIC that `target` asks for, once no change is pending on
    /// the server; `None` when there is none (or no such server).
    pub async fn find_nic(
        &self,
        server_id: &str,
        target: &NicTarget,
    ) -> CloudResult<Option<String>> {
        let Some(mut s) = self.get_server(server_id).await? else {
            return Ok(None);
        };
        if s.state.is_pending() || s.pending_action().is_some() {
            self.wait_server(server_id, Wait::resume(AsyncOp::ChangeNic), None)
                .await?;
            match self.get_server(server_id).await? {
                Some(again) => s = again,
                None => return Ok(None),
            }
        }
        Ok(s.additional_nics()
            .iter()
            .find(|n| target.matches(n))
            .and_then(|n| n.id.clone()))
    }

    /// Adds a secondary NIC to a NORMAL server; returns its id. The server is PENDING_CHANGE
    /// afterwards: wait with [`AsyncOp::ChangeNic`]. Observes before sending again (see the module
    /// documentation), so the NIC is never added twice; a NIC already on the target is returned.
    pub async fn add_nic(&self, server_id: &str, target: &NicTarget) -> CloudResult<String> {
        let mut last = None;
        for attempt in 0..ADD_ATTEMPTS {
            if attempt > 0
                && let Some(id) = self.find_nic(server_id, target).await?
            {
                return Ok(id);
            }
            match self.send_add_nic(server_id, target).await {
                Ok(id) => return Ok(id),
                Err(e) if e.is_ambiguous() => {
                    tracing::info!(target: "cloud", server_id, error = %e, "addNic answer lost; observing before sending again");
                    last = Some(e);
                }
                Err(e) if e.has_code(ErrorCode::InvalidInputData) => {
                    return match self.find_nic(server_id, target).await? {
                        Some(id) => Ok(id),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| CloudError::Config("addNic was never answered".into())))
    }

    /// `POST server/removeNic` (the NIC's server goes PENDING_CHANGE: wait with
    /// [`AsyncOp::ChangeNic`]). RESOURCE_NOT_FOUND means it is gone already.
    pub async fn remove_nic(&self, nic_id: &str) -> CloudResult<()> {
        let body = XmlBody::empty_root("removeNic", &[("id", nic_id)]);
        self.post(Kind::Change, "removeNic", "server/removeNic", body)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Server, wire};

    fn server(nics: &str) -> Server {
        let xml = format!(
            r#"<server xmlns="urn:didata.com:api:cloud:types" id="s1" datacenterId="NA9"><name>n</name>
               <networkInfo networkDomainId="d1">
                 <primaryNic id="p" privateIpv4="10.0.0.10" vlanId="front" state="NORMAL"/>{nics}
               </networkInfo><started>false</started><state>NORMAL</state></server>"#
        );
        wire::decode("server", &xml).unwrap()
    }

    #[test]
    fn additional_nics_decode_and_match() {
        let one = server(
            r#"<additionalNic id="n1" privateIpv4="10.0.1.20" vlanId="back" vlanName="back" state="NORMAL"/>"#,
        );
        assert_eq!(one.additional_nics().len(), 1);
        let two = server(
            r#"<additionalNic id="n1" privateIpv4="10.0.1.20" vlanId="back" state="NORMAL"/>
               <additionalNic id="n2" privateIpv4="10.0.2.20" vlanId="side" state="NORMAL"/>"#,
        );
        let nics = two.additional_nics();
        assert_eq!(nics.len(), 2);
        assert!(NicTarget::Vlan("side".into()).matches(&nics[1]));
        assert!(!NicTarget::Vlan("front".into()).matches(&nics[0]));
        assert!(NicTarget::Ipv4("10.0.1.20".into()).matches(&nics[0]));
        assert!(!NicTarget::Ipv4("10.0.1.21".into()).matches(&nics[0]));
        assert!(server("").additional_nics().is_empty());
    }
}
