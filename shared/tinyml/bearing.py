"""Rolling-element bearing kinematics: the defect frequencies as orders (multiples of the shaft speed).

For a bearing with n rolling elements of diameter d on a pitch circle of diameter D, contact angle phi,
outer ring fixed and inner ring turning with the shaft, and r = d/D cos(phi):

    FTF  = (1 - r) / 2                cage (fundamental train)
    BPFO = n/2 (1 - r)                a rolling element passes a point of the outer race
    BPFI = n/2 (1 + r)                ... of the inner race
    BSF  = D/(2d) (1 - r^2)           the element spins (a defect on it strikes a race at 2 x BSF)

(Harris, Rolling Bearing Analysis; Randall and Antoni, MSSP 2011.) Real frequencies differ from these by
1-2 % (the elements slip); analysis allows for it. Computed in float64 and rounded once to float32, as
the firmware does (double arithmetic, then a float).

KNOWN holds the bearings of the public data sets, with the orders their sources state, except that the
CWRU tables give twice the ball spin frequency (the rate at which a ball defect strikes the two races,
4.7135 for the 6205): BSF here is the spin itself, as bearing makers state it (2.3568).
"""

from __future__ import annotations

import math

import numpy as np

ORDER_KEYS = ("bpfo", "bpfi", "bsf", "ftf")


def defect_orders(balls: float, ball_d: float, pitch_d: float, contact_deg: float = 0.0) -> dict[str, float]:
    """{bpfo, bpfi, bsf, ftf} as float32-rounded orders; ball_d and pitch_d in the same unit."""
    if not (balls >= 3 and ball_d > 0 and pitch_d > ball_d and 0 <= contact_deg < 90):
        raise ValueError(f"bearing geometry out of range: {balls} elements of {ball_d} on {pitch_d}, {contact_deg} deg")
    r = ball_d / pitch_d * math.cos(math.radians(contact_deg))
    out = {
        "bpfo": balls / 2.0 * (1.0 - r),
        "bpfi": balls / 2.0 * (1.0 + r),
        "bsf": pitch_d / (2.0 * ball_d) * (1.0 - r * r),
        "ftf": 0.5 * (1.0 - r),
    }
    return {k: float(np.float32(v)) for k, v in out.items()}


# name -> orders. Sources: CWRU Bearing Data Center "bearing information" (6205-2RS JEM SKF drive end,
# 6203-2RS JEM SKF fan end); Paderborn KAt data set description (6203, 8 balls of 6.75 mm on 28.55 mm);
# IMS readme (Rexnord ZA-2115: 16 rollers of 0.331 in on 2.815 in, 15.17 deg); XJTU-SY (Wang et al., IEEE
# Trans. Reliability 2020: LDK UER204, 8 balls of 7.92 mm on 34.55 mm; BPFO 107.91 Hz at 35 Hz); FEMTO-ST
# PRONOSTIA (IEEE PHM 2012 challenge details, appendix A.1: 13 rolling elements of 3.5 mm, mean diameter 25.6 mm;
# its organisers note that the kinematic frequencies match their observations poorly).
KNOWN: dict[str, dict[str, float]] = {
    "skf-6205": {"bpfo": 3.5848, "bpfi": 5.4152, "bsf": 4.7135 / 2, "ftf": 0.39828},
    "skf-6203": {"bpfo": 3.0530, "bpfi": 4.9469, "bsf": 3.9874 / 2, "ftf": 0.3817},
    "6203-paderborn": defect_orders(8, 6.75, 28.55, 0.0),
    "rexnord-za-2115": defect_orders(16, 0.331, 2.815, 15.17),
    "ldk-uer204": defect_orders(8, 7.92, 34.55, 0.0),
    "femto-pronostia": defect_orders(13, 3.5, 25.6, 0.0),
}
