from .alb import ALB
from .api_gateway import APIGateway, HTTPGateway
from .lambda_at_edge import LambdaAtEdge

__all__ = ["ALB", "APIGateway", "HTTPGateway", "LambdaAtEdge"]
