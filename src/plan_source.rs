//! Reading the FITTINGS argument: files and standard input through `fittings`, URLs fetched here with
//! `cloud::http_get` (the plan language does no network I/O). Each location of the loaded plan then
//! gets the region of its location from cloud's one table when the plan names none, so output and
//! `--json` show the region the endpoint resolution would use.

use fittings::{LoadError, Parameters, Plan, PlanSource, PlanText, Warning};

/// The plan's text, its name for messages and its state key.
pub fn read(source: &PlanSource) -> Result<PlanText, LoadError> {
    source.read_with(&|url| cloud::http_get(url, fittings::MAX_PLAN_BYTES))
}

/// Loads the plan text and fills each location's missing `regionId` from its location.
pub fn load(text: &PlanText, params: &Parameters) -> Result<(Plan, Vec<Warning>), LoadError> {
    let (mut plan, warnings) = fittings::load_text(&text.name, &text.text, params)?;
    for loc in &mut plan.locations {
        if loc.region_id.is_none() {
            loc.region_id = cloud::region_for_location(&loc.location_id).map(str::to_string);
        }
    }
    Ok((plan, warnings))
}
