//! The fixed catalogue: datacenters and, per datacenter, the OS images servers deploy from.

use once_cell::sync::Lazy;
use sha1::{Digest, Sha1};

/// A datacenter (`infrastructure/datacenter`).
#[derive(Debug, Clone)]
pub struct Datacenter {
    /// Id such as `NA9`.
    pub id: &'static str,
    /// Display name (contains "MCP 2.0", which some clients test for).
    pub display_name: &'static str,
    /// City.
    pub city: &'static str,
    /// State or region.
    pub state: &'static str,
    /// ISO country code.
    pub country: &'static str,
    /// VPN URL.
    pub vpn_url: &'static str,
    /// FTPS host.
    pub ftps_host: &'static str,
}

/// An OS image (`image/osImage`).
#[derive(Debug, Clone)]
pub struct OsImage {
    /// Image id (stable across runs).
    pub id: String,
    /// Datacenter id.
    pub datacenter_id: &'static str,
    /// Name, e.g. `Ubuntu 22.04 64-bit 2 CPU`.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// CPU count.
    pub cpu_count: u32,
    /// Memory in GB.
    pub memory_gb: u32,
    /// Disk id of the image's single disk.
    pub disk_id: String,
    /// Disk size in GB.
    pub disk_gb: u32,
    /// `osImageKey`.
    pub key: &'static str,
    /// Guest OS id, e.g. `UBUNTU2264`.
    pub os_id: &'static str,
    /// Guest OS display name, e.g. `UBUNTU22/64`.
    pub os_display: &'static str,
    /// `UNIX` or `WINDOWS`.
    pub family: &'static str,
    /// Creation time (fixed).
    pub create_time: &'static str,
    /// Sort order.
    pub sort_order: u32,
}

const DATACENTERS: &[Datacenter] = &[
    Datacenter {
        id: "NA9",
        display_name: "US - East 3 - MCP 2.0",
        city: "Ashburn",
        state: "Virginia",
        country: "US",
        vpn_url: "https://na9.cloud-vpn.net",
        ftps_host: "ftps-na9.cloud-vpn.net",
    },
    Datacenter {
        id: "NA12",
        display_name: "US - West - MCP 2.0",
        city: "Santa Clara",
        state: "California",
        country: "US",
        vpn_url: "https://na12.cloud-vpn.net",
        ftps_host: "ftps-na12.cloud-vpn.net",
    },
    Datacenter {
        id: "EU6",
        display_name: "Europe - Frankfurt - MCP 2.0",
        city: "Frankfurt",
        state: "Hesse",
        country: "DE",
        vpn_url: "https://eu6.cloud-vpn.net",
        ftps_host: "ftps-eu6.cloud-vpn.net",
    },
    Datacenter {
        id: "EU7",
        display_name: "Europe - Amsterdam - MCP 2.0",
        city: "Amsterdam",
        state: "North Holland",
        country: "NL",
        vpn_url: "https://eu7.cloud-vpn.net",
        ftps_host: "ftps-eu7.cloud-vpn.net",
    },
    Datacenter {
        id: "AU9",
        display_name: "Australia - Sydney - MCP 2.0",
        city: "Sydney",
        state: "New South Wales",
        country: "AU",
        vpn_url: "https://au9.cloud-vpn.net",
        ftps_host: "ftps-au9.cloud-vpn.net",
    },
    Datacenter {
        id: "AP3",
        display_name: "Asia Pacific - Singapore - MCP 2.0",
        city: "Singapore",
        state: "Singapore",
        country: "SG",
        vpn_url: "https://ap3.cloud-vpn.net",
        ftps_host: "ftps-ap3.cloud-vpn.net",
    },
    Datacenter {
        id: "EU8",
        display_name: "Europe - London - MCP 2.0",
        city: "London",
        state: "England",
        country: "GB",
        vpn_url: "https://eu8.cloud-vpn.net",
        ftps_host: "ftps-eu8.cloud-vpn.net",
    },
    Datacenter {
        id: "AU10",
        display_name: "Australia - Melbourne - MCP 2.0",
        city: "Melbourne",
        state: "Victoria",
        country: "AU",
        vpn_url: "https://au10.cloud-vpn.net",
        ftps_host: "ftps-au10.cloud-vpn.net",
    },
    Datacenter {
        id: "AU11",
        display_name: "New Zealand - Hamilton - MCP 2.0",
        city: "Hamilton",
        state: "Waikato",
        country: "NZ",
        vpn_url: "https://au11.cloud-vpn.net",
        ftps_host: "ftps-au11.cloud-vpn.net",
    },
    Datacenter {
        id: "AP4",
        display_name: "Asia Pacific - Tokyo - MCP 2.0",
        city: "Tokyo",
        state: "Tokyo",
        country: "JP",
        vpn_url: "https://ap4.cloud-vpn.net",
        ftps_host: "ftps-ap4.cloud-vpn.net",
    },
    Datacenter {
        id: "AP5",
        display_name: "Asia Pacific - Hong Kong - MCP 2.0",
        city: "Hong Kong",
        state: "Hong Kong",
        country: "HK",
        vpn_url: "https://ap5.cloud-vpn.net",
        ftps_host: "ftps-ap5.cloud-vpn.net",
    },
    Datacenter {
        id: "AF3",
        display_name: "Africa - Johannesburg - MCP 2.0",
        city: "Johannesburg",
        state: "Gauteng",
        country: "ZA",
        vpn_url: "https://af3.cloud-vpn.net",
        ftps_host: "ftps-af3.cloud-vpn.net",
    },
    Datacenter {
        id: "CA2",
        display_name: "Canada - Toronto - MCP 2.0",
        city: "Toronto",
        state: "Ontario",
        country: "CA",
        vpn_url: "https://ca2.cloud-vpn.net",
        ftps_host: "ftps-ca2.cloud-vpn.net",
    },
];

/// (name, description, os id, os display, family, cpu, memory GB, disk GB, key)
type ImageRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    u32,
    u32,
    &'static str,
);

const IMAGES: &[ImageRow] = &[
    (
        "Ubuntu 14.04 64-bit 2 CPU",
        "Ubuntu 14.04.5 LTS (Trusty Tahr) 64-bit",
        "UBUNTU1464",
        "UBUNTU14/64",
        "UNIX",
        2,
        4,
        10,
        "T-UBUNTU-1404-64-2-4-10",
    ),
    (
        "Ubuntu 16.04 64-bit 2 CPU",
        "Ubuntu 16.04.7 LTS (Xenial Xerus) 64-bit",
        "UBUNTU1664",
        "UBUNTU16/64",
        "UNIX",
        2,
        4,
        10,
        "T-UBUNTU-1604-64-2-4-10",
    ),
    (
        "Ubuntu 18.04 64-bit 2 CPU",
        "Ubuntu 18.04.6 LTS (Bionic Beaver) 64-bit",
        "UBUNTU1864",
        "UBUNTU18/64",
        "UNIX",
        2,
        4,
        10,
        "T-UBUNTU-1804-64-2-4-10",
    ),
    (
        "Ubuntu 20.04 64-bit 2 CPU",
        "Ubuntu 20.04.6 LTS (Focal Fossa) 64-bit",
        "UBUNTU2064",
        "UBUNTU20/64",
        "UNIX",
        2,
        4,
        20,
        "T-UBUNTU-2004-64-2-4-20",
    ),
    (
        "Ubuntu 22.04 64-bit 2 CPU",
        "Ubuntu 22.04.4 LTS (Jammy Jellyfish) 64-bit",
        "UBUNTU2264",
        "UBUNTU22/64",
        "UNIX",
        2,
        4,
        20,
        "T-UBUNTU-2204-64-2-4-20",
    ),
    (
        "Ubuntu 24.04 64-bit 2 CPU",
        "Ubuntu 24.04 LTS (Noble Numbat) 64-bit",
        "UBUNTU2464",
        "UBUNTU24/64",
        "UNIX",
        2,
        4,
        20,
        "T-UBUNTU-2404-64-2-4-20",
    ),
    (
        "Debian 12 64-bit 2 CPU",
        "Debian 12 (Bookworm) 64-bit",
        "DEBIAN1264",
        "DEBIAN12/64",
        "UNIX",
        2,
        4,
        20,
        "T-DEBIAN-12-64-2-4-20",
    ),
    (
        "CentOS 7 64-bit 2 CPU",
        "CentOS Release 7.9 64-bit",
        "CENTOS764",
        "CENTOS7/64",
        "UNIX",
        2,
        4,
        10,
        "T-CENT-7-64-2-4-10",
    ),
    (
        "RedHat 7 64-bit 2 CPU",
        "RedHat 7.9 Enterprise (Maipo) 64-bit",
        "REDHAT764",
        "REDHAT7/64",
        "UNIX",
        2,
        4,
        10,
        "T-RHEL-7-64-2-4-10",
    ),
    (
        "Win2019 DC 64-bit 2 CPU",
        "Windows 2019 Datacenter 64-bit installed with Microsoft Windows Updates",
        "WIN2019DC64",
        "WIN2019DC/64",
        "WINDOWS",
        2,
        8,
        50,
        "T-WIN-2019-DC-64-2-8-50",
    ),
];

fn stable_uuid(seed: &str) -> String {
    let h = Sha1::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

static ALL_IMAGES: Lazy<Vec<OsImage>> = Lazy::new(|| {
    let mut v = Vec::new();
    for dc in DATACENTERS {
        for (i, r) in IMAGES.iter().enumerate() {
            v.push(OsImage {
                id: stable_uuid(&format!("osImage/{}/{}", dc.id, r.0)),
                datacenter_id: dc.id,
                name: r.0,
                description: r.1,
                os_id: r.2,
                os_display: r.3,
                family: r.4,
                cpu_count: r.5,
                memory_gb: r.6,
                disk_gb: r.7,
                key: r.8,
                disk_id: stable_uuid(&format!("osImageDisk/{}/{}", dc.id, r.0)),
                create_time: "2024-06-03T08:00:00.000Z",
                sort_order: 10 + i as u32 * 5,
            });
        }
    }
    v
});

static IMAGE_INDEX: Lazy<std::collections::HashMap<&'static str, usize>> = Lazy::new(|| {
    ALL_IMAGES
        .iter()
        .enumerate()
        .map(|(i, img)| (img.id.as_str(), i))
        .collect()
});

/// All datacenters.
pub fn datacenters() -> &'static [Datacenter] {
    DATACENTERS
}

/// The datacenter `id`.
pub fn datacenter(id: &str) -> Option<&'static Datacenter> {
    DATACENTERS.iter().find(|d| d.id == id)
}

/// All OS images of all datacenters.
pub fn images() -> &'static [OsImage] {
    &ALL_IMAGES
}

/// The OS image `id`.
pub fn image(id: &str) -> Option<&'static OsImage> {
    IMAGE_INDEX.get(id).map(|i| &ALL_IMAGES[*i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datacenter_has_every_image_with_stable_ids() {
        for dc in [
            "NA9", "NA12", "EU6", "EU7", "EU8", "AU9", "AU10", "AU11", "AP3", "AP4", "AP5", "AF3",
            "CA2",
        ] {
            assert!(datacenter(dc).is_some());
            let names: Vec<_> = images()
                .iter()
                .filter(|i| i.datacenter_id == dc)
                .map(|i| i.name)
                .collect();
            assert_eq!(names.len(), IMAGES.len());
            assert!(names.contains(&"Ubuntu 24.04 64-bit 2 CPU"));
        }
        let a = image(&images()[3].id).unwrap();
        assert_eq!(
            a.id,
            stable_uuid(&format!("osImage/{}/{}", a.datacenter_id, a.name))
        );
        let mut ids: Vec<_> = images().iter().map(|i| &i.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), images().len());
    }
}
