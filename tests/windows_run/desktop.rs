//! Wine's notification area on the suite's Xvfb display, seen from X: with no system tray
//! manager on the display, Wine's explorer draws the icons in a window of its own named "Wine
//! System Tray". Screenshots and pixel counts by ImageMagick, the window's place by xwininfo
//! (both installed by scripts/setup.sh).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TRAY_WINDOW: &str = "Wine System Tray";
/// How far a screen pixel may be from the icon's colour and still count as it (edges blend).
const COLOUR_TOLERANCE: i32 = 24;

/// Where a window is on the screen.
#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Wine's tray window, once it is mapped; `None` after `timeout`.
pub fn tray_window(timeout: Duration) -> Option<Area> {
    let deadline = Instant::now() + timeout;
    loop {
        let info = output(Command::new("xwininfo").args(["-name", TRAY_WINDOW]));
        let field = |name: &str| {
            info.lines().find_map(|l| l.trim().strip_prefix(name)).and_then(|v| v.trim().parse::<u32>().ok())
        };
        let area = (|| {
            Some(Area {
                x: field("Absolute upper-left X:")?,
                y: field("Absolute upper-left Y:")?,
                width: field("Width:")?,
                height: field("Height:")?,
            })
        })();
        if area.is_some() || Instant::now() >= deadline {
            return area;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Saves the whole display as a PNG.
pub fn screenshot(to: &Path) {
    let status = Command::new("import").args(["-window", "root"]).arg(to).status().expect("ImageMagick's import runs");
    assert!(status.success(), "import could not take a screenshot to {}", to.display());
}

/// How many pixels of `area` in the screenshot `shot` have the main colour of the icon `png`.
pub fn icon_colour_pixels(shot: &Path, area: Area, png: &Path) -> usize {
    let icon = histogram(Command::new("convert").arg(png).args(["-format", "%c", "histogram:info:-"]));
    let main = icon
        .iter()
        .filter(|(_, colour)| colour.get(3).is_none_or(|alpha| *alpha > 200))
        .max_by_key(|(count, _)| *count)
        .map(|(_, colour)| [colour[0], colour[1], colour[2]])
        .unwrap_or_else(|| panic!("{} has no opaque colour", png.display()));
    let crop = format!("{}x{}+{}+{}", area.width, area.height, area.x, area.y);
    let seen = histogram(Command::new("convert").arg(shot).args(["-crop", &crop, "+repage", "-format", "%c"]).args([
        "-alpha",
        "off",
        "histogram:info:-",
    ]));
    seen.iter()
        .filter(|(_, colour)| colour.iter().zip(main).all(|(a, b)| (a - b).abs() <= COLOUR_TOLERANCE))
        .map(|(count, _)| count)
        .sum()
}

fn output(command: &mut Command) -> String {
    command.output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// `count: (r,g,b[,a]) …` lines of ImageMagick's histogram as (count, channels 0–255).
fn histogram(command: &mut Command) -> Vec<(usize, Vec<i32>)> {
    output(command)
        .lines()
        .filter_map(|line| {
            let (count, rest) = line.trim().split_once(':')?;
            let inner = rest.split_once('(')?.1.split_once(')')?.0;
            let channels: Option<Vec<i32>> =
                inner.split(',').map(|c| c.trim().parse::<f64>().ok().map(|v| v.round() as i32)).collect();
            Some((count.trim().parse().ok()?, channels?))
        })
        .collect()
}
